// PerMessageDeflate: reads a client's Sec-WebSocket-Extensions offers and answers the first permessage-deflate one we can honour (RFC 7692 section 7).

/// What a connection agreed to for permessage-deflate. The server side never keeps context
/// between messages in either direction (PROTOCOL.md 3.x), so the one thing that differs from
/// connection to connection is the largest window our messages may use.
public struct PerMessageDeflateAgreement: Equatable, Sendable {
    /// `server_max_window_bits` the client asked for (8-15; 15 when it did not ask).
    public var serverMaxWindowBits: UInt8
    /// The `Sec-WebSocket-Extensions` value of our 101.
    public var responseHeaderValue: String
}

/// RFC 7692 negotiation, and the RFC 6455 section 9.1 grammar of the header it rides on.
public enum PerMessageDeflate {
    /// The extension token.
    public static let name = "permessage-deflate"

    /// One offer: an extension token and its parameters in order (value nil when absent).
    public struct Offer: Equatable, Sendable {
        public var name: String
        public var parameters: [Parameter]

        public init(name: String, parameters: [Parameter]) {
            self.name = name
            self.parameters = parameters
        }
    }

    public struct Parameter: Equatable, Sendable {
        public var name: String
        public var value: String?

        public init(name: String, value: String?) {
            self.name = name
            self.value = value
        }
    }

    /// The agreement for the first permessage-deflate offer among `headerValues` (every
    /// `Sec-WebSocket-Extensions` line, in order) that we accept, or nil: no offer, none
    /// acceptable, or a header that breaks the grammar (then nothing is negotiated, and the
    /// connection runs uncompressed rather than failing: extensions are optional).
    ///
    /// An offer is declined (RFC 7692 section 5: "a server MUST decline" an offer it does not
    /// support) when it has an unknown parameter, a parameter twice, a value where none is
    /// allowed, or a window size that is not a decimal 8-15 without a leading zero (7.1.2).
    /// Every accepted offer is answered with `server_no_context_takeover` (7.1.1.1: the server
    /// may add it unasked) and `client_no_context_takeover` (7.1.1.2: likewise), so neither side
    /// keeps a window between messages; `server_max_window_bits` is echoed when offered (7.1.2.1:
    /// the same or a smaller value). `client_max_window_bits` is not answered (7.1.2.2 lets the
    /// server leave it out): our inflater's window of 15 reads anything the client may send.
    public static func negotiate(_ headerValues: [String]) -> PerMessageDeflateAgreement? {
        guard let offers = parse(headerValues) else { return nil }
        for offer in offers where offer.name == name {
            if let agreement = accept(offer) { return agreement }
        }
        return nil
    }

    /// The answer to one offer, or nil when it must be declined.
    static func accept(_ offer: Offer) -> PerMessageDeflateAgreement? {
        var seen = Set<String>()
        var serverWindow: UInt8? = nil
        for parameter in offer.parameters {
            guard seen.insert(parameter.name).inserted else { return nil }
            switch parameter.name {
            case "server_no_context_takeover", "client_no_context_takeover":
                guard parameter.value == nil else { return nil }
            case "server_max_window_bits":
                guard let value = parameter.value, let bits = windowBits(value) else { return nil }
                serverWindow = bits
            case "client_max_window_bits":
                if let value = parameter.value, windowBits(value) == nil { return nil }
            default:
                return nil
            }
        }
        var response = "\(name); server_no_context_takeover; client_no_context_takeover"
        if let bits = serverWindow { response += "; server_max_window_bits=\(bits)" }
        return PerMessageDeflateAgreement(serverMaxWindowBits: serverWindow ?? 15, responseHeaderValue: response)
    }

    /// 8-15 written as RFC 7692 7.1.2 requires: 1*DIGIT with no leading zero.
    static func windowBits(_ value: String) -> UInt8? {
        guard let first = value.utf8.first, first != UInt8(ascii: "0"),
              value.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
              value.utf8.count <= 2, let bits = UInt8(value), (8...15).contains(bits) else { return nil }
        return bits
    }

    /// The offers of `headerValues` by RFC 6455 section 9.1 (several header lines are one list),
    /// or nil when the text breaks the grammar:
    /// `extension = token *( ";" param )`, `param = token [ "=" (token / quoted-string) ]`, a
    /// quoted value being a token once unescaped; spaces and tabs around the separators.
    public static func parse(_ headerValues: [String]) -> [Offer]? {
        var offers: [Offer] = []
        for value in headerValues {
            var scanner = Scanner(Array(value.utf8))
            while true {
                scanner.skipSpace()
                if scanner.atEnd { break }
                // Empty list elements (", ,") are allowed by the #rule of RFC 7230 section 7.
                if scanner.take(UInt8(ascii: ",")) { continue }
                guard let extensionName = scanner.token() else { return nil }
                var offer = Offer(name: extensionName, parameters: [])
                scanner.skipSpace()
                while scanner.take(UInt8(ascii: ";")) {
                    scanner.skipSpace()
                    guard let parameterName = scanner.token() else { return nil }
                    scanner.skipSpace()
                    var parameterValue: String? = nil
                    if scanner.take(UInt8(ascii: "=")) {
                        scanner.skipSpace()
                        guard let text = scanner.token() ?? scanner.quotedToken() else { return nil }
                        parameterValue = text
                        scanner.skipSpace()
                    }
                    offer.parameters.append(Parameter(name: parameterName, value: parameterValue))
                }
                offers.append(offer)
                guard scanner.atEnd || scanner.take(UInt8(ascii: ",")) else { return nil }
            }
        }
        return offers
    }

    /// A cursor over one header value.
    struct Scanner {
        let bytes: [UInt8]
        var index = 0

        init(_ bytes: [UInt8]) { self.bytes = bytes }

        var atEnd: Bool { index == bytes.count }

        mutating func skipSpace() {
            while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x09 { index += 1 }
        }

        mutating func take(_ byte: UInt8) -> Bool {
            guard index < bytes.count, bytes[index] == byte else { return false }
            index += 1
            return true
        }

        /// A token (RFC 7230 section 3.2.6), or nil with nothing consumed.
        mutating func token() -> String? {
            let start = index
            while index < bytes.count, Scanner.isTokenByte(bytes[index]) { index += 1 }
            return index > start ? String(decoding: bytes[start..<index], as: UTF8.self) : nil
        }

        /// A quoted-string whose unescaped text is a token (RFC 6455 section 9.1), or nil.
        mutating func quotedToken() -> String? {
            guard take(0x22) else { return nil }
            var text: [UInt8] = []
            while index < bytes.count {
                var byte = bytes[index]
                index += 1
                if byte == 0x22 {
                    guard !text.isEmpty, text.allSatisfy(Scanner.isTokenByte) else { return nil }
                    return String(decoding: text, as: UTF8.self)
                }
                if byte == 0x5C {
                    guard index < bytes.count else { return nil }
                    byte = bytes[index]
                    index += 1
                }
                text.append(byte)
            }
            return nil
        }

        static func isTokenByte(_ byte: UInt8) -> Bool {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"):
                return true
            default:
                return "!#$%&'*+-.^_`|~".utf8.contains(byte)
            }
        }
    }
}
