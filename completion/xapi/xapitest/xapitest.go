// Package xapitest builds statements shaped as Moodle's xAPI log store
// (logstore_xapi) emits them, for tests and benchmarks.
package xapitest

import (
	"encoding/json"
	"fmt"
	"time"
)

// Learner is who a statement is about.
type Learner struct {
	Email string
	Name  string
	// UserID, when not empty, makes the actor an account
	// {homePage: site, name: UserID} instead of an mbox.
	UserID string
}

// CourseCompleted is the statement logstore_xapi sends for
// \core\event\course_completed (src/transformer/events/core/
// course_completed.php), with an mbox actor unless l.UserID is set.
func CourseCompleted(id, site string, course int, courseName string, l Learner, at time.Time) map[string]any {
	return map[string]any{
		"id":    id,
		"actor": actor(site, l),
		"verb":  map[string]any{"id": "http://adlnet.gov/expapi/verbs/completed", "display": map[string]any{"fr": "completed"}},
		"object": map[string]any{
			"id":         fmt.Sprintf("%s/course/view.php?id=%d", site, course),
			"objectType": "Activity",
			"definition": map[string]any{"type": "http://id.tincanapi.com/activitytype/lms/course", "name": map[string]any{"fr": courseName}},
		},
		"timestamp": at.Format(time.RFC3339),
		"context": map[string]any{
			"platform": "Moodle",
			"language": "fr",
			"extensions": map[string]any{
				"http://lrs.learninglocker.net/define/extensions/info": map[string]any{
					"http://moodle.org": "4.1.3 (Build: 20230424)",
					"https://github.com/xAPI-vle/moodle-logstore_xapi": "v4.7.0",
					"event_name":     `\core\event\course_completed`,
					"event_function": `\src\transformer\events\core\course_completed`,
				},
			},
			"contextActivities": map[string]any{
				"grouping": []any{siteActivity(site)},
				"category": []any{source()},
			},
		},
	}
}

// ModuleCompleted is the statement for \core\event\
// course_module_completion_updated: the module is the object, the site
// and the course are in contextActivities.grouping.
func ModuleCompleted(id, site string, course, cmid int, modName, name string, l Learner, at time.Time) map[string]any {
	return map[string]any{
		"id":    id,
		"actor": actor(site, l),
		"verb":  map[string]any{"id": "http://adlnet.gov/expapi/verbs/completed", "display": map[string]any{"fr": "completed"}},
		"object": map[string]any{
			"id":         fmt.Sprintf("%s/mod/%s/view.php?id=%d", site, modName, cmid),
			"objectType": "Activity",
			"definition": map[string]any{"type": "http://id.tincanapi.com/activitytype/lms/module", "name": map[string]any{"fr": name}},
		},
		"timestamp": at.Format(time.RFC3339),
		"context": map[string]any{
			"platform": "Moodle",
			"language": "fr",
			"contextActivities": map[string]any{
				"grouping": []any{siteActivity(site), map[string]any{
					"id":         fmt.Sprintf("%s/course/view.php?id=%d", site, course),
					"objectType": "Activity",
					"definition": map[string]any{"type": "http://id.tincanapi.com/activitytype/lms/course", "name": map[string]any{"fr": "Parcours"}},
				}},
				"category": []any{source()},
			},
		},
	}
}

func actor(site string, l Learner) map[string]any {
	if l.UserID != "" {
		return map[string]any{"objectType": "Agent", "name": l.Name, "account": map[string]any{"homePage": site, "name": l.UserID}}
	}
	return map[string]any{"objectType": "Agent", "name": l.Name, "mbox": "mailto:" + l.Email}
}

func siteActivity(site string) map[string]any {
	return map[string]any{"id": site, "objectType": "Activity",
		"definition": map[string]any{"type": "http://id.tincanapi.com/activitytype/lms", "name": map[string]any{"fr": "Magistère"}}}
}

func source() map[string]any {
	return map[string]any{"id": "http://moodle.org", "objectType": "Activity",
		"definition": map[string]any{"type": "http://id.tincanapi.com/activitytype/source", "name": map[string]any{"en": "Moodle"}}}
}

// JSON encodes statements (one value, or an array of them).
func JSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// UUID returns a fixed UUID for test number n.
func UUID(n int) string {
	return fmt.Sprintf("6f1e2d3c-4b5a-4f69-8e7d-%012x", n)
}
