//go:build !unix

package interop

// lockFile is a no-op where flock is unavailable; concurrent first-time
// installs from several test binaries may then race.
func lockFile(string) (func(), error) { return func() {}, nil }
