// WebSocketMessageInflater: what WebSocketConnection needs to read a permessage-deflate message, kept apart from zlib.

/// The outcome of inflating one whole message.
public enum WebSocketInflateResult: Sendable {
    /// The body was called with the inflated bytes.
    case inflated
    /// The inflated message would pass its byte limit (1009).
    case tooBig
    /// The bytes are not valid raw DEFLATE (1007).
    case corrupt
}

/// Inflates a whole permessage-deflate message (RFC 7692 7.2.2: the receiver appends
/// `00 00 ff ff`), with no state carried from one message to the next. The gateway's is one per
/// loop (TagarelaZlib's `RawInflater`); tests may use their own.
public protocol WebSocketMessageInflater: AnyObject {
    /// Inflates `compressed`, stopping past `bytesMax` output bytes, and calls `body` with the
    /// result (valid only during the call) when it succeeds.
    func inflateWebSocketMessage(_ compressed: UnsafeRawBufferPointer, bytesMax: Int,
                                 _ body: (UnsafeRawBufferPointer) -> Void) -> WebSocketInflateResult
}
