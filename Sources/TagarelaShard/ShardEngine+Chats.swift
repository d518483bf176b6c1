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
        guard members.count <= config.maxGroupMembers else { throw RequestError(.badRequest, "too many members") }
        for m in members.dropFirst() { try requireUser(m) }
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
        guard chat.chat.memberIDs.count < config.maxGroupMembers else { throw RequestError(.badRequest, "group is full") }
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

    /// `get_user_chats` (and internal `user_chats`): this shard's chats of `user`, newest
    /// activity first, ties by id, so the gateway's merge of sorted parts is stable.
    func userChatsResult(_ r: Request, for user: String) -> EngineResult {
        let mine = (userChats[user] ?? []).compactMap { chats[$0] }
        let sorted = mine.sorted { a, b in
            let ta = a.lastActivity
            let tb = b.lastActivity
            return ta != tb ? ta > tb : a.id < b.id
        }
        var w = Responses.begin(type: r.type.rawValue, requestID: r.requestID, capacity: 128 + 400 * sorted.count)
        w.key("chats")
        w.beginArray()
        for c in sorted { w.raw(c.encode(for: user)) }
        w.endArray()
        return EngineResult(response: Responses.finish(&w))
    }
}
