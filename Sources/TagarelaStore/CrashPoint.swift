// CrashPoint: a test hook that stops a multi-step disk protocol after its Nth step, like a crash would.

/// Counts the durable steps of compaction and resharding and says when to stop.
///
/// Production code passes `CrashPoint.never`. Tests pass `CrashPoint(after: n)` for n = 0, 1, ...
/// and then reopen the files as a restarted process would: every prefix of the protocol must
/// leave a state that loads with nothing lost. `steps` records the names reached, for messages.
final class CrashPoint {
    private let after: Int?
    private(set) var steps: [String] = []

    init(after: Int?) { self.after = after }

    /// A hook that never stops.
    static var never: CrashPoint { CrashPoint(after: nil) }

    /// Records that `step` is done; returns true when the operation must stop here.
    func reached(_ step: String) -> Bool {
        steps.append(step)
        guard let after else { return false }
        return steps.count > after
    }
}
