package attest

// FailRendering makes rendering fail, with fail's error, for the learners
// whose e-mail address fail returns an error for.
func FailRendering(s *Service, fail func(email string) error) {
	s.render = func(r rendering, z *deflaters) ([]byte, error) {
		if err := fail(r.Fields.Learner.Email); err != nil {
			return nil, err
		}
		return render(r, z)
	}
}
