// Package auth decides who is calling Insigne and what they may do.
//
// It knows neither HTTP nor SQL: package api turns requests into calls of
// the functions here (bearer tokens, session cookies, password and
// OpenID Connect sign-in, CSRF checks) and package store implements the
// small [Store] interface declared here.
//
// The building blocks:
//
//   - passwords: argon2id in PHC string format ([HashPassword], [CheckPassword]);
//   - secrets: random high-entropy tokens stored only as SHA-256 hashes
//     ([NewToken], [HashToken]) for API tokens, sessions and sign-in links;
//   - authorization: a [Principal] with per-issuer [Role]s and, for API
//     tokens, scopes ([Principal.Can], [Principal.HasScope]);
//   - CSRF: a per-session secret, masked differently in every form
//     ([CSRFToken], [CheckCSRF]);
//   - OpenID Connect: a relying party for the authorization code flow with
//     PKCE ([Provider]);
//   - [Service], which ties them to a [Store].
package auth
