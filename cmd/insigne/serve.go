package main

import "context"

func cmdServe(ctx context.Context, args []string, e env) error {
	return usageError{"serve is not available yet"}
}
