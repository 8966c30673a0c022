-- Frameworks imported before owners were recorded (migration 0014) belong
-- to no issuer: only the operator could version them, although an
-- issuer's administrator imported most of them. Their owner is now the
-- issuer of whoever imported the first version, as an import does today:
-- an API token's issuer, or the one issuer the importing account
-- administers. The official frameworks, the operator's imports and those
-- whose importer cannot be tied to one issuer (an account administering
-- several, or none any more) stay the operator's (''). It runs after
-- 0014 and is idempotent: frameworks with an owner are left alone.
UPDATE frameworks SET owner = COALESCE((
	SELECT CASE
		WHEN first.created_by LIKE 'token:%' THEN (
			SELECT t.issuer FROM api_tokens t JOIN issuers i ON i.slug = t.issuer
			WHERE t.id = SUBSTR(first.created_by, 7))
		WHEN first.created_by LIKE 'user:%' THEN (
			SELECT CASE WHEN COUNT(*) = 1 THEN MIN(m.issuer) END FROM memberships m JOIN issuers i ON i.slug = m.issuer
			WHERE m.user_id = SUBSTR(first.created_by, 6) AND m.role = 'admin')
	END
	FROM frameworks first
	WHERE first.id = frameworks.id AND first.version = (SELECT MIN(v.version) FROM frameworks v WHERE v.id = frameworks.id)
), '')
WHERE owner = ''
	AND NOT EXISTS (SELECT 1 FROM frameworks o WHERE o.id = frameworks.id AND (o.source = 'official' OR o.owner <> ''));
