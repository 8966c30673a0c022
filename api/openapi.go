package api

import (
	_ "embed"
	"net/http"
)

// openAPI describes the JSON API; TestOpenAPICoversRoutes keeps it in step
// with the router.
//
//go:embed openapi.json
var openAPI []byte

func serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	writeDoc(w, "application/json", http.StatusOK, openAPI)
}
