package manage

import (
	"testing"
	"time"
)

func TestExpiry(t *testing.T) {
	sp := time.FixedZone("BRT", -3*3600)
	now := time.Date(2026, 11, 28, 10, 0, 0, 0, sp)
	tests := []struct {
		ttl, until string
		want       time.Time
		wantErr    bool
	}{
		{want: time.Time{}},
		{ttl: "30d", want: now.AddDate(0, 0, 30)},
		{ttl: "2w", want: now.Add(14 * 24 * time.Hour)},
		{ttl: "36h", want: now.Add(36 * time.Hour)},
		{ttl: "90m", want: now.Add(90 * time.Minute)},
		{until: "2026-12-31", want: time.Date(2027, 1, 1, 0, 0, 0, 0, sp)},
		{until: "2026-12-31T18:00:00-03:00", want: time.Date(2026, 12, 31, 18, 0, 0, 0, sp)},
		{ttl: "0d", wantErr: true},
		{ttl: "-5h", wantErr: true},
		{ttl: "thirty days", wantErr: true},
		{ttl: "99999999d", wantErr: true},
		{until: "2026-11-27", wantErr: true},
		{until: "31/12/2026", wantErr: true},
		{ttl: "1d", until: "2026-12-31", wantErr: true},
	}
	for _, tt := range tests {
		got, err := Expiry(tt.ttl, tt.until, now, sp)
		if (err != nil) != tt.wantErr || !got.Equal(tt.want) {
			t.Errorf("Expiry(%q, %q) = %v, %v; want %v, error %v", tt.ttl, tt.until, got, err, tt.want, tt.wantErr)
		}
	}
}
