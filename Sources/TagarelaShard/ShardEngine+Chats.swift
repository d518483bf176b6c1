// ShardEngine+Chats: direct chats, groups, member changes and this shard's part of get_user_chats.

import TagarelaJSON
import TagarelaModel

extension ShardEngine {
    func chatResponse(_ r: Request, _ chat: ChatState, for reader: String) -> [UInt8] {
        Responses.ok(type: r.type.rawValue, requestID: r.requestID, key: "chat", rawValue: chat.encode(for: reader))
    }

    /// `create_chat`: the direct chat `d:<a>:<b>`; asking again returns the same chat and
    /// changes nothing.
    func createChat(_ r: Request, requester: String, other: String) throws(RequestError) -> EngineResult {
        guard other != requester else { throw RequestError(.badRequest, "cannot start a direct chat with yourself") }
        let id = FieldRules.directChatID(requester, other)
        if let existing = chats[id] {
            return EngineResult(response: chatResponse(r, existing, for: requester))
        }
        try requireUser(other)
        try requireRoomForOwnChat(requester)
        try requireRoomForChat(addedByOthers: [other])
        var records: [[UInt8]] = []
        commit(.chatCreated(id: id, kind: ChatKind.direct.rawValue, name: nil, members: [requester, other],
                            createdAt: config.clock(), creator: requester), into: &records)
        let chat = chats[id]!
        return EngineResult(response: chatResponse(r, chat, for: requester),
                            events: chat.chatEvents(type: EventType.chatNew, to: [other]), records: records)
    }

    /// `create_group`: the id comes from the gateway (`arg`), which minted it to route the
    /// request; without one (single-process use) the engine mints `g:<24 hex>` itself.
    func createGroup(_ r: Request, requester: String, id given: String, name: String, memberIDs: [String]) throws(RequestError) -> EngineResult {
        let id = given.isEmpty ? "g:" + hex(config.random(12)) : given
        guard FieldRules.hasAtMost(id, FieldLimits.chatIDMax) else { throw RequestError(.badRequest, "group id too long") }
        guard chats[id] == nil else { throw RequestError(.conflict, "group id already in use") }
        var members = [requester]
        for m in memberIDs where m != requester { members.append(m) }
        guard members.count <= config.groupMembersMax else {
            throw .limitReached(.groupMembers, "a group has at most \(config.groupMembersMax) members")
        }
        for m in members.dropFirst() { try requireUser(m) }
        try requireRoomForOwnChat(requester)
        try requireRoomForChat(addedByOthers: Array(members.dropFirst()))
        var records: [[UInt8]] = []
        commit(.chatCreated(id: id, kind: ChatKind.group.rawValue, name: name, members: members,
                            createdAt: config.clock(), creator: requester), into: &records)
        let chat = chats[id]!
        return EngineResult(response: chatResponse(r, chat, for: requester),
                            events: chat.chatEvents(type: EventType.chatNew, to: Array(members.dropFirst())), records: records)
    }

    /// The group if it exists, is a group, and `requester` is in it.
    func memberGroup(_ groupID: String, _ requester: String) throws(RequestError) -> ChatState {
        guard let chat = chats[groupID] else { throw .chatNotFound }
        guard chat.chat.kind == .group else { throw RequestError(.badRequest, "direct chats have no member changes") }
        guard chat.isMember(requester) else { throw .notMember }
        return chat
    }

    /// `add_group_member`: any member may add; adding a member again is a no-op success.
    func addMember(_ r: Request, requester: String, groupID: String, userID: String) throws(RequestError) -> EngineResult {
        let chat = try memberGroup(groupID, requester)
        if chat.isMember(userID) {
            return EngineResult(response: chatResponse(r, chat, for: requester))
        }
        try requireUser(userID)
        guard chat.chat.memberIDs.count < config.groupMembersMax else {
            throw .limitReached(.groupMembers, "the group is full (\(config.groupMembersMax) members)")
        }
        try requireRoomForChat(addedByOthers: [userID])
        var records: [[UInt8]] = []
        commit(.memberAdded(chatID: groupID, userID: userID), into: &records)
        let others = chat.chat.memberIDs.filter { $0 != requester && $0 != userID }
        var events = chat.chatEvents(type: EventType.chatNew, to: [userID])
        events += chat.chatEvents(type: EventType.chatUpdated, to: others)
        return EngineResult(response: chatResponse(r, chat, for: requester), events: events, records: records)
    }

    /// `remove_group_member`: yourself = leave (any member); someone else: creator only.
    func removeMember(_ r: Request, requester: String, groupID: String, userID: String) throws(RequestError) -> EngineResult {
        let chat = try memberGroup(groupID, requester)
        if userID != requester && chat.chat.creatorID != requester {
            throw RequestError(.forbidden, "only the group's creator may remove other members")
        }
        guard chat.isMember(userID) else { throw RequestError(.notFound, "not a member of this group") }
        var records: [[UInt8]] = []
        commit(.memberRemoved(chatID: groupID, userID: userID), into: &records)
        let remaining = chat.chat.memberIDs.filter { $0 != requester }
        var events = chat.chatEvents(type: EventType.chatUpdated, to: remaining)
        if userID != requester {
            // Not a member any more: unread_count 0 and member_ids without them.
            events += chat.chatEvents(type: EventType.chatUpdated, to: [userID])
        }
        return EngineResult(response: chatResponse(r, chat, for: requester), events: events, records: records)
    }

    // MARK: - Chats per user (EngineConfig.chatsPerUserMax, PROTOCOL.md 3.6)

    /// How many of this shard's chats `user` is in, and in how many of those someone else put
    /// them (the chat's creator is someone else). Counted when asked: only chat creation and
    /// member additions ask, and a user is in at most `chatsPerUserMax` chats here.
    func chatCounts(of user: String) -> (total: Int, addedByOthers: Int) {
        guard let ids = userChats[user] else { return (0, 0) }
        var byOthers = 0
        for id in ids where chats[id]?.chat.creatorID != user { byOthers += 1 }
        return (ids.count, byOthers)
    }

    /// The requester may start one more chat of their own. Chats others put the user into count
    /// at most their share: a `scale` to fewer shards can merge more than that into one shard,
    /// and the excess must not take the room kept for the user's own chats.
    func requireRoomForOwnChat(_ user: String) throws(RequestError) {
        // What is counted never passes the total: under the limit, nothing needs scanning.
        guard (userChats[user]?.count ?? 0) >= config.chatsPerUserMax else { return }
        let counts = chatCounts(of: user)
        let counted = counts.total - counts.addedByOthers + min(counts.addedByOthers, config.chatsAddedByOthersPerUserMax)
        guard counted < config.chatsPerUserMax else {
            throw .limitReached(.chatsPerUser, "you are in \(config.chatsPerUserMax) chats; leave one first")
        }
    }

    /// Each of `users` may be put into one more chat by someone else: under both their total
    /// and the share others may fill, so no one can lock a user out of chats of their own.
    func requireRoomForChat(addedByOthers users: [String]) throws(RequestError) {
        var full: [String] = []
        var limit = RequestError.Limit.chatsAddedByOthers
        // The share others filled never passes the total: a user under both limits in total
        // needs no scan of their chats (a large group's creation checks every member).
        let scanFrom = min(config.chatsPerUserMax, config.chatsAddedByOthersPerUserMax)
        for user in users where (userChats[user]?.count ?? 0) >= scanFrom {
            let counts = chatCounts(of: user)
            if counts.total >= config.chatsPerUserMax {
                full.append(user)
                limit = .chatsPerUser
            } else if counts.addedByOthers >= config.chatsAddedByOthersPerUserMax {
                full.append(user)
            }
        }
        guard full.isEmpty else {
            throw .limitReached(limit, "in too many chats to be added to another: \(full.prefix(10).joined(separator: ", "))")
        }
    }

    // MARK: - get_user_chats

    /// `get_user_chats` (and internal `user_chats`): one page of this shard's chats of `user`,
    /// the first `limit` after `cursor` in `ChatCursor` order (newest activity first, ties by
    /// id), and `has_more` when more follow. The gateway merges the shards' pages
    /// (`ScatterMerge.userChats`). At most `FieldLimits.chatsLimitMax` chats of at most
    /// `OutputBounds.chatBytesMax` bytes each: the page is bounded by construction.
    func userChatsResult(_ r: Request, for user: String, limit: Int, cursor: ChatCursor?) -> EngineResult {
        var page: [(at: ChatCursor, chat: ChatState)] = []
        for id in userChats[user] ?? [] {
            guard let chat = chats[id] else { continue }
            let at = ChatCursor(activity: chat.lastActivity, chatID: id)
            if let cursor = cursor, !at.isAfter(cursor) { continue }
            page.append((at, chat))
        }
        page.sort { ChatCursor.precedes($0.at, $1.at) }
        let hasMore = page.count > limit
        if hasMore { page.removeLast(page.count - limit) }
        var w = Responses.begin(type: r.type.rawValue, requestID: r.requestID, capacity: 128 + 400 * page.count)
        w.key("chats")
        w.beginArray()
        for item in page { w.raw(item.chat.encode(for: user)) }
        w.endArray()
        w.key("has_more"); w.bool(hasMore)
        w.key("next_cursor")
        if hasMore, let last = page.last { w.string(last.at.text) } else { w.null() }
        return EngineResult(response: Responses.finish(&w))
    }
}
