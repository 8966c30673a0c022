module github.com/insigne/insigne

go 1.26.8

require (
	github.com/go-jose/go-jose/v4 v4.1.8
	github.com/gorilla/mux v1.8.1
	github.com/piprate/json-gold v0.9.1
	github.com/santhosh-tekuri/jsonschema/v6 v6.0.3
	golang.org/x/text v0.41.0
)

require (
	github.com/cayleygraph/quad v1.3.0 // indirect
	github.com/pquerna/cachecontrol v0.2.0 // indirect
	github.com/stretchr/testify v1.11.1 // indirect
)
