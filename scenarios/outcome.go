package scenarios

// Outcome is what a user experiences when probed after an event.
type Outcome string

// Outcomes, from best to worst.
const (
	Kept        Outcome = "kept"         // same user, same cart
	LostData    Outcome = "lost_data"    // logged in, but the cart changed
	LostSession Outcome = "lost_session" // 401: must log in again
	Unavailable Outcome = "unavailable"  // 5xx or no connection
	WrongUser   Outcome = "wrong_user"   // someone else's session: never acceptable
)

// Outcomes lists the outcomes in the order the verdict table shows them.
var Outcomes = []Outcome{Kept, LostSession, LostData, Unavailable, WrongUser}

func (o Outcome) rank() int {
	switch o {
	case Kept:
		return 0
	case LostData:
		return 1
	case LostSession:
		return 2
	case Unavailable:
		return 3
	}
	return 4
}

// worse returns the worse of two outcomes.
func worse(a, b Outcome) Outcome {
	if a == "" || b.rank() > a.rank() {
		return b
	}
	return a
}

// Tally counts the outcomes of a variant's users at one probe.
type Tally struct {
	Users       int `json:"users"`
	Kept        int `json:"kept"`
	LostSession int `json:"lost_session"`
	LostData    int `json:"lost_data"`
	Unavailable int `json:"unavailable"`
	WrongUser   int `json:"wrong_user"`
	// DetectSeconds is the mean time from a kill or stop of an instance to
	// the balancer marking it down, when the scenario ended one.
	DetectSeconds *float64 `json:"detect_seconds"`
}

func (t *Tally) add(o Outcome) {
	t.Users++
	switch o {
	case Kept:
		t.Kept++
	case LostSession:
		t.LostSession++
	case LostData:
		t.LostData++
	case Unavailable:
		t.Unavailable++
	case WrongUser:
		t.WrongUser++
	}
}

// Count returns the number of users with outcome o.
func (t Tally) Count(o Outcome) int {
	switch o {
	case Kept:
		return t.Kept
	case LostSession:
		return t.LostSession
	case LostData:
		return t.LostData
	case Unavailable:
		return t.Unavailable
	case WrongUser:
		return t.WrongUser
	}
	return 0
}
