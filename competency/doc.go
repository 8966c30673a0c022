// Package competency holds competency frameworks: the two official French
// frameworks Insigne ships with, and any other framework imported from a
// 1EdTech CASE 1.0 package or a Moodle competency framework CSV
// (tool_lpimportcsv).
//
// The model follows CASE: a Framework is a CFDocument with its CFItems and
// CFAssociations. It knows nothing of HTTP or SQL; the store persists
// frameworks and the api package serves them under /ims/case/v1p0/.
//
// Everything that arrives from outside goes through ImportCASE or
// ImportMoodleCSV, which cap the size, refuse malformed input with an
// *InputError naming the place (a JSON path, an identifier or a CSV line) and
// never panic. The exporters only write frameworks that pass Validate.
//
// Identifiers are stable: the official frameworks and every framework read
// from a Moodle CSV get name-based (version 5) UUIDs, so that importing or
// seeding the same framework twice gives the same identifiers and a badge
// aligned to an item keeps pointing to it. See DocumentID and ItemID.
package competency
