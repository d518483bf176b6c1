// WebSocketSubprotocol: picks the subprotocol a WebSocket upgrade is answered with (RFC 6455 sections 1.9, 4.2.2).

/// The encodings of the chat protocol a WebSocket client may ask for by name (PROTOCOL.md 1.3).
public enum WebSocketSubprotocol {
    /// JSON text messages: what a client that asks for nothing gets too.
    public static let json = "tagarela.json"
    /// The same protocol in CBOR (RFC 8949) on binary messages.
    public static let cbor = "tagarela.cbor"
    /// What this server speaks, for `select`.
    public static let supported = [json, cbor]

    /// The first name the client offers in `Sec-WebSocket-Protocol` that the server speaks, in the
    /// client's order (section 4.1: the offer lists them by preference), or nil when it offers
    /// none of them, or offers nothing: then the 101 carries no `Sec-WebSocket-Protocol` at all
    /// (section 4.2.2 step 5.4: the server answers only with a name the client sent). The header
    /// may repeat and holds comma-separated tokens; names compare exactly, as browsers compare
    /// the answer with their offer.
    public static func select(_ head: HTTPRequestHead, supported: [String] = supported) -> String? {
        for value in head.values(of: "Sec-WebSocket-Protocol") {
            for token in value.split(separator: ",") {
                let name = token.trimmingCharacters(whereIn: [" ", "\t"])
                if let match = supported.first(where: { $0 == name }) { return match }
            }
        }
        return nil
    }
}
