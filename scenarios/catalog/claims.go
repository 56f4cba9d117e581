package catalog

import "statelab/scenarios"

// The claims of the seed articles the scenarios test. Every word inside
// quotation marks is the article's own, and every quotation is whole: a
// sentence from its start to its end, a table cell, or a list with all its
// items (" · " between them); a cut would be marked "…". A row of 004's
// comparison table is quoted cell by cell, the stateless column first;
// quotation marks inside a quotation are curly.
var (
	claimMemory = scenarios.Claim{Source: "004", Row: "Memory of Past Requests",
		Text: `stateless "None. Each request is treated as if it is the first." · stateful "Yes. Context is stored server-side in memory, cache, or a database."`}
	claimScalability = scenarios.Claim{Source: "004", Row: "Scalability",
		Text: `stateless "Excellent. Any server instance can handle any request because no shared state is required." · stateful "More complex. Sessions may pin clients to specific server instances unless a shared session store is used."`}
	claimFaultTolerance = scenarios.Claim{Source: "004", Row: "Fault Tolerance",
		Text: `stateless "High. A server restart has no effect on clients because no session data is lost." · stateful "Lower. A server restart can invalidate in-memory sessions unless sessions are stored externally in Redis or a database."`}
	claimSticky = scenarios.Claim{Source: "004", Row: "Sticky sessions",
		Text: `"This is simple to set up but reduces the effectiveness of load balancing and creates a single point of failure: if the assigned server goes down, all its sessions are lost and those clients must log in again."`}
	claimSharedStore = scenarios.Claim{Source: "004", Row: "Shared external session store",
		Text: `"Any server can handle any request because they all read from and write to the same session store. This approach scales better and tolerates server failures without session loss, but adds an external dependency and a network round-trip for every session lookup."`}
	claimExternalized = scenarios.Claim{Source: "003", Row: "Better Approach",
		Text: `"Stateless backend" · "Session stored in Redis or DB" · "Any instance can validate session" · "You still have state, but it’s externalized, not tied to a single instance."`}
	claimRevocation = scenarios.Claim{Source: "004", Row: "Revocation",
		Text: `stateless "Harder. A JWT cannot be invalidated before it expires without a token blacklist or short expiry times." · stateful "Easier. Deleting a session record immediately terminates that client's access regardless of what token they hold."`}
	claimClient = scenarios.Claim{Source: "004", Row: "Client Responsibility",
		Text: `stateless "Client must securely store and transmit the token on every request." · stateful "Client stores only a session ID, which is a short opaque reference with no sensitive data embedded."`}
	claimAuth = scenarios.Claim{Source: "004", Row: "Authentication Mechanism",
		Text: `stateless "A self-contained token such as a JWT is sent with every request and verified cryptographically without a database lookup." · stateful "A session ID is sent with each request and the server looks up the corresponding session data in its store."`}
	claimAnyServer = scenarios.Claim{Source: "004", Row: "How REST APIs Use Statelessness",
		Text: `"The server verifies the token cryptographically without consulting any session store. Any server instance that knows the signing key can verify any token."`}
	claimRequestSize = scenarios.Claim{Source: "004", Row: "Request Size",
		Text: `stateless "Larger. Each request must carry all necessary context including authentication credentials." · stateful "Smaller. Only a short session identifier needs to be sent, as the server retrieves the rest from its store."`}
	claimSignedCookies = scenarios.Claim{Source: "000", Row: "Where Is the “State” Stored Then?",
		Text: `"Instead, state is stored externally, such as: Databases (PostgreSQL, MySQL) · Caches (Redis) · Tokens (JWTs, signed cookies) · External services" · "Stateless systems authenticate users on every request using: Tokens · API keys · Signed cookies"`}
	claimSignedCookiesRestart = scenarios.Claim{Source: "004", Row: "What happens to stateful sessions when a server restarts?",
		Text: `"Some applications also use signed cookies that store session data directly in the browser rather than on the server, which survives server restarts entirely since no server-side storage is involved."`}
	claimIdempotent = scenarios.Claim{Source: "001", Row: "Optimization",
		Text: `"Optimize your stateless architecture by using Idempotent Operations. This means designing your API so that making the same request multiple times has the same effect as making it once. This is critical in stateless systems where network hiccups might cause a client to retry a request. If the request is idempotent, the retry won't result in duplicate transactions or corrupted data."`}
	claimTokenSize = scenarios.Claim{Source: "001", Row: "Common Pitfalls",
		Text: `"If your stateless token becomes too large, it increases network latency and consumes excessive bandwidth."`}
	claimShortExpiry = scenarios.Claim{Source: "001", Row: "What are the security risks of stateless architecture?",
		Text: `"If an attacker steals a valid token, they can impersonate the user. Developers must use secure cookies, encryption, and short expiration times to mitigate these risks."`}
	claimSharedBottleneck = scenarios.Claim{Source: "001", Row: "Pro-Tip",
		Text: `"Implementation of statelessness often shifts the “bottleneck” from the application server to the database or the distributed cache. Always ensure your external state store, such as Redis, is as scalable as your compute layer."`}
	claimLongLived = scenarios.Claim{Source: "000", Row: "When Stateful Systems Make Sense",
		Text: `"WebSockets · Real-time multiplayer games · Collaborative applications · Long-lived connections" · "Most real-world systems are primarily stateless, with carefully managed state where required."`}
	claimChat = scenarios.Claim{Source: "003", Row: "Why Stateful Services Still Exist",
		Text: `"Some systems depend on long-lived connections" · "A chat server maintains: Open connections · Message state · User presence" · "Trying to make that fully stateless often makes things worse, not better."`}
	claimResources = scenarios.Claim{Source: "004", Row: "Server Resources",
		Text: `stateless "Lower. No session data needs to be stored or managed on the server side." · stateful "Higher. Each active session occupies memory or database storage that must be maintained and expired."`}
)

// The claims about a small system: one server.
var (
	claimSmallSystems = scenarios.Claim{Source: "000", Row: "Stateless vs Stateful: A Practical Comparison",
		Text: `"This approach works in small systems but creates problems:" · "If the server restarts, the stored state is lost" · "Requests sent to a different server instance fail" · "Scaling becomes difficult"`}
	claimSingleServer = scenarios.Claim{Source: "004", Row: "Is stateless always better than stateful?",
		Text: `"For simple applications with a single server, an admin panel with a small number of concurrent users, or any system where instant session revocation is a security requirement, stateful server sessions may be the simpler, more appropriate choice."`}
)

// The claim about routing to the least busy server.
var claimLeastBusy = scenarios.Claim{Source: "004", Row: "How REST APIs Use Statelessness",
	Text: `"Any server in the pool can handle any request: Because no client-specific state is stored on any individual server, a load balancer can route each request to whichever server is least busy without any sticky session configuration."`}

// The claim about the client's side of the network.
var claimFluctuating = scenarios.Claim{Source: "001", Row: "Why This Matters: Key Benefits & Applications",
	Text: `"API Development: REST (Representational State Transfer) is inherently stateless, ensuring that mobile apps and web platforms can communicate with backend services reliably across fluctuating network conditions."`}

// The claim about scaling with demand.
var claimInstantScale = scenarios.Claim{Source: "001", Row: "Real-World Benefits",
	Text: `"Horizontal Scalability: Because instances are identical and independent, you can add or remove servers instantly based on traffic demand."`}
