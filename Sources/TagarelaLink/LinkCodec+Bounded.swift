// LinkCodec+Bounded: encodes a reply and its events as frames that each fit the receiver's frame bound.

extension LinkCodec {
    /// Bytes of a reply frame's body (after the length prefix) with no events.
    public static func replyBodyBytes(_ reply: LinkReply) -> Int {
        1 + 8 + 4 + reply.json.count + 4 * 4 + reply.authUserID.utf8.count + reply.authSessionID.utf8.count
            + reply.endSessionID.utf8.count + reply.endUserID.utf8.count + 4
    }

    /// Bytes one event adds to a reply or events frame.
    public static func eventBytes(_ event: LinkEvent) -> Int {
        var n = 4 + 8 + 4 + event.json.count
        for user in event.userIDs { n += 4 + user.utf8.count }
        return n
    }

    /// Appends `reply` to `buffer` as frames whose bodies are at most `frameBytesMax` each:
    /// the reply with as many of its events as fit, then `events` frames with the rest, in
    /// order. The receiver refuses a longer frame by dropping the link (it cannot resynchronise
    /// past a length it will not buffer), which would fail every request in flight on it; a
    /// reply of a large group's member change carries one event per distinct unread count, so
    /// its events alone can pass any fixed bound.
    ///
    /// - Returns: false, appending nothing, when the reply without events does not fit (the
    ///   caller answers `too_large` instead); an event that cannot fit even alone is left out
    ///   and counted in `droppedEvents`.
    @discardableResult
    public static func encodeBounded(_ reply: LinkReply, frameBytesMax: Int, into buffer: inout [UInt8],
                                     droppedEvents: inout Int) -> Bool {
        var size = replyBodyBytes(reply)  // counts no events
        guard size <= frameBytesMax else { return false }
        var index = 0
        while index < reply.events.count {
            let n = eventBytes(reply.events[index])
            guard size + n <= frameBytesMax else { break }
            size += n
            index += 1
        }
        // The usual case: everything fits one frame, encoded as is (no copy of the events).
        if index == reply.events.count {
            encode(.reply(reply), into: &buffer)
            return true
        }
        var head = reply
        head.events = Array(reply.events[..<index])
        encode(.reply(head), into: &buffer)
        encodeBounded(events: reply.events[index...], frameBytesMax: frameBytesMax, into: &buffer,
                      droppedEvents: &droppedEvents)
        return true
    }

    /// Appends `events` as `events` frames whose bodies are at most `frameBytesMax` each.
    public static func encodeBounded(events: ArraySlice<LinkEvent>, frameBytesMax: Int, into buffer: inout [UInt8],
                                     droppedEvents: inout Int) {
        let empty = 1 + 4
        var batch: [LinkEvent] = []
        var size = empty
        for event in events {
            let n = eventBytes(event)
            if empty + n > frameBytesMax {
                droppedEvents += 1
                continue
            }
            if size + n > frameBytesMax {
                encode(.events(batch), into: &buffer)
                batch.removeAll(keepingCapacity: true)
                size = empty
            }
            batch.append(event)
            size += n
        }
        if !batch.isEmpty { encode(.events(batch), into: &buffer) }
    }
}
