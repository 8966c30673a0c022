package competency

import "github.com/insigne/insigne/badges"

// Alignment returns the Open Badges 3.0 alignment of an achievement to item
// of framework f served from base: targetType "CFItem", the item's code, the
// framework title, the official wording as targetName and the item's CASE
// uri as targetUrl, which resolves once the framework is served.
func Alignment(f Framework, item Item, base string) badges.Alignment {
	return badges.Alignment{
		Type:            []string{"Alignment"},
		TargetType:      "CFItem",
		TargetCode:      item.HumanCodingScheme,
		TargetFramework: f.Title,
		TargetName:      item.FullStatement,
		TargetURL:       ItemURI(base, item.Identifier),
	}
}
