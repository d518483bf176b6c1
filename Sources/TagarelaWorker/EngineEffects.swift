// EngineEffects: the real clock and randomness the worker gives its pure shard engine.
import TagarelaCrypto
import TagarelaShard
import TagarelaSystem

extension EngineConfig {
    /// The engine's settings with the worker's effects: the wall clock (milliseconds since the
    /// Unix epoch, the `timestamp`s and `created_at`s clients see) and the kernel's CSPRNG
    /// (salts, tokens, group ids). The engine has no defaults for either, so nothing in
    /// TagarelaShard reaches the operating system.
    static func withRealEffects() -> EngineConfig {
        EngineConfig(clock: { Clock.wallMs() }, random: { SecureRandom.bytes(count: $0) })
    }
}
