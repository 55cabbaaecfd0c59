package zeev

import "time"

// SetNow replaces c's clock, which times temporary tokens. Call it before the first request.
func SetNow(c *Client, now func() time.Time) { c.now = now }
