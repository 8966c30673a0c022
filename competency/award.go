package competency

import (
	"fmt"
	"strings"

	"github.com/insigne/insigne/badges"
)

// LevelResult builds the Open Badges result of a trainer's assessment: the
// level reached on the achievement's scale (one of the rubricCriterionLevels
// of its resultDescription) for the assessed items.
//
// rdID picks the resultDescription; "" takes the first one that has
// levels. level is a level's id, or its name or level label (case is
// ignored), as a trainer would pick it from a list.
func LevelResult(rds []badges.ResultDescription, rdID, level string, items []badges.Alignment) (badges.Result, error) {
	var rd *badges.ResultDescription
	for i := range rds {
		if len(rds[i].RubricCriterionLevel) == 0 {
			continue
		}
		if rdID == "" || rds[i].ID == rdID {
			rd = &rds[i]
			break
		}
	}
	if rd == nil {
		if rdID != "" {
			return badges.Result{}, inputErr("resultDescription", "%q is not a resultDescription with levels (rubricCriterionLevel) of the achievement", rdID)
		}
		return badges.Result{}, inputErr("achievement", "has no scale: add a resultDescription with rubricCriterionLevel entries to it")
	}
	level = strings.TrimSpace(level)
	if level == "" {
		return badges.Result{}, inputErr("level", "is required: one of %s", levelNames(rd))
	}
	var lvl *badges.RubricCriterionLevel
	for i, l := range rd.RubricCriterionLevel {
		if l.ID == level || strings.EqualFold(l.Name, level) || (l.Level != "" && strings.EqualFold(l.Level, level)) {
			lvl = &rd.RubricCriterionLevel[i]
			break
		}
	}
	if lvl == nil {
		return badges.Result{}, inputErr("level", "%q is not a level of %q: one of %s", level, rd.Name, levelNames(rd))
	}
	return badges.Result{Type: []string{"Result"}, ResultDescription: rd.ID, AchievedLevel: lvl.ID, Alignment: items}, nil
}

func levelNames(rd *badges.ResultDescription) string {
	var names []string
	for _, l := range rd.RubricCriterionLevel {
		names = append(names, fmt.Sprintf("%q", l.Name))
	}
	return strings.Join(names, ", ")
}
