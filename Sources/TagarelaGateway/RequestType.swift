// RequestType: the closed set of request types a client may send, and what each needs before it is routed.

/// Every `type` a client may send (PROTOCOL.md 2). Internal shard requests (`users_exist`,
/// `user_chats`) are deliberately absent: a client naming them gets `bad_request` like any
/// unknown type.
public enum RequestType: String, CaseIterable, Sendable {
    case register, login, auth, logout
    case searchUsers = "search_users"
    case createChat = "create_chat"
    case createGroup = "create_group"
    case addGroupMember = "add_group_member"
    case removeGroupMember = "remove_group_member"
    case getUserChats = "get_user_chats"
    case message
    case getMessages = "get_messages"
    case markRead = "mark_read"
    case typing
    case getPresence = "get_presence"

    /// Requests allowed on a connection that has not authenticated (PROTOCOL.md 2.1).
    public var allowedBeforeAuth: Bool {
        switch self {
        case .register, .login, .auth: return true
        default: return false
        }
    }

    /// A dense index for per-type counters.
    public var index: Int {
        switch self {
        case .register: return 0
        case .login: return 1
        case .auth: return 2
        case .logout: return 3
        case .searchUsers: return 4
        case .createChat: return 5
        case .createGroup: return 6
        case .addGroupMember: return 7
        case .removeGroupMember: return 8
        case .getUserChats: return 9
        case .message: return 10
        case .getMessages: return 11
        case .markRead: return 12
        case .typing: return 13
        case .getPresence: return 14
        }
    }
}
