package catalog

import "statelab/scenarios"

// The claims of the seed articles the scenarios test, quoted (the rows of
// 004's comparison table give the stateless side, then the stateful one).
var (
	claimMemory = scenarios.Claim{Source: "004", Row: "Memory of Past Requests",
		Text: "Stateless: none; each request is treated as if it is the first. Stateful: context is stored server-side in memory, cache, or a database."}
	claimScalability = scenarios.Claim{Source: "004", Row: "Scalability",
		Text: "Stateless: excellent; any server instance can handle any request because no shared state is required. Stateful: more complex; sessions may pin clients to specific server instances unless a shared session store is used."}
	claimFaultTolerance = scenarios.Claim{Source: "004", Row: "Fault Tolerance",
		Text: "Stateless: high; a server restart has no effect on clients because no session data is lost. Stateful: lower; a server restart can invalidate in-memory sessions unless sessions are stored externally in Redis or a database."}
	claimSticky = scenarios.Claim{Source: "004", Row: "Sticky sessions",
		Text: "Simple to set up but reduces the effectiveness of load balancing and creates a single point of failure: if the assigned server goes down, all its sessions are lost and those clients must log in again."}
	claimSharedStore = scenarios.Claim{Source: "004", Row: "Shared external session store",
		Text: "Any server can handle any request because they all read from and write to the same session store. This approach scales better and tolerates server failures without session loss, but adds an external dependency and a network round-trip for every session lookup."}
	claimExternalized = scenarios.Claim{Source: "003", Row: "Better approach",
		Text: "Session stored in Redis or DB; any instance can validate session. You still have state, but it's externalized, not tied to a single instance."}
	claimRevocation = scenarios.Claim{Source: "004", Row: "Revocation",
		Text: "Stateless: harder; a JWT cannot be invalidated before it expires without a token blacklist or short expiry times. Stateful: easier; deleting a session record immediately terminates that client's access regardless of what token they hold."}
	claimClient = scenarios.Claim{Source: "004", Row: "Client Responsibility",
		Text: "Stateless: the client must securely store and transmit the token on every request. Stateful: the client stores only a session ID, which is a short opaque reference with no sensitive data embedded."}
	claimAuth = scenarios.Claim{Source: "004", Row: "Authentication Mechanism",
		Text: "Stateless: a self-contained token such as a JWT is sent with every request and verified cryptographically without a database lookup. Stateful: a session ID is sent with each request and the server looks up the corresponding session data in its store."}
	claimAnyServer = scenarios.Claim{Source: "004", Row: "How REST APIs use statelessness",
		Text: "The server verifies the token cryptographically without consulting any session store. Any server instance that knows the signing key can verify any token."}
	claimRequestSize = scenarios.Claim{Source: "004", Row: "Request Size",
		Text: "Stateless: larger; each request must carry all necessary context including authentication credentials. Stateful: smaller; only a short session identifier needs to be sent, as the server retrieves the rest from its store."}
	claimResources = scenarios.Claim{Source: "004", Row: "Server Resources",
		Text: "Stateless: lower; no session data needs to be stored or managed on the server side. Stateful: higher; each active session occupies memory or database storage that must be maintained and expired."}
)
