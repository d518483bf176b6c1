// Session+SessionCheck: after a connection is bound to a user, asks the user's shard whether its session is still live, and ends it on the connection when not (PROTOCOL.md 3.2).
import TagarelaLink
import TagarelaModel

extension Session {
    /// Sends the `SessionCheck` of the session just bound. The `bind` action before it sent
    /// the loop's subscribe (when it was the loop's first connection of the user) on every
    /// link, so on the user's shard's link the check comes after it: a session end the shard
    /// processes after the check reaches this connection as a notice (the loop is subscribed,
    /// the connection bound), and one processed before it makes the check answer "gone".
    /// Every new binding is checked, not only a loop's first of the user: a later connection
    /// whose authentication was answered before an earlier one's subscribe arrived raced the
    /// same way. A shard that cannot be asked leaves the session unverified, and it ends.
    mutating func checkSessionLive<C: SessionContext>(_ c: C, _ emit: (SessionAction) -> Void) {
        guard c.receivesEvents, !userID.isEmpty, c.settings.workers > 0 else { return }
        let shard = Slots.worker(for: userID, workers: c.settings.workers)
        guard c.linkState(shard) != .down else { return sessionUnverified(sessionID, c, emit) }
        // Not behind the link's busy mark: the authentication answer just freed a slot, and
        // the check must not wait behind requests the connection sends after it.
        emit(.forward(shard: shard, request: sessionCheckRequest(), tag: .sessionCheck(sessionID: sessionID)))
    }

    /// The link to the user's shard came back (the worker restarted, or the link dropped) and
    /// has sent the loop's subscriptions again: a session end the shard processed while the link
    /// was down reached no connection here, so the bound session is checked again, behind those
    /// subscriptions. It was vouched for once: a recheck that cannot be asked or answered leaves
    /// it as it is, and the link's next return asks again.
    mutating func recheckSessionLive<C: SessionContext>(_ c: C, _ emit: (SessionAction) -> Void) {
        guard c.receivesEvents, !userID.isEmpty, c.settings.workers > 0 else { return }
        let shard = Slots.worker(for: userID, workers: c.settings.workers)
        guard c.linkState(shard) != .down else { return }
        emit(.forward(shard: shard, request: sessionCheckRequest(), tag: .sessionRecheck(sessionID: sessionID)))
    }

    private func sessionCheckRequest() -> LinkRequest {
        LinkRequest(requestID: 0, connectionID: 0, flags: LinkRequest.internalFlag, userID: userID,
                    sessionID: sessionID, arg: SessionCheck.arg, json: SessionCheck.request)
    }

    /// The shard answered the check of `checked`. Nothing to do when the connection left that
    /// session meanwhile (a logout, another login). A gone session ends here as a session end
    /// notice would have ended it; an answer that is no check answer (a worker from before
    /// the check, during a rolling restart) leaves the session as it was before the check existed.
    mutating func sessionChecked<C: SessionContext>(_ checked: String, live: Bool?, _ c: C,
                                                    _ emit: (SessionAction) -> Void) {
        guard live == false else {
            if live == nil { emit(.log("the session check got no check answer (an older worker?); session kept")) }
            return
        }
        receive(.sessionEnded(sessionID: checked, reason: SessionCheck.endedReason), c, emit)
    }

    /// The check of `checked` will not be answered (link down, deadline): the session cannot
    /// be known to be live, so it ends on this connection; the client may `auth` again, and
    /// its token works if the session is live.
    mutating func sessionUnverified<C: SessionContext>(_ checked: String, _ c: C, _ emit: (SessionAction) -> Void) {
        receive(.sessionEnded(sessionID: checked, reason: SessionCheck.unverifiedReason), c, emit)
    }
}
