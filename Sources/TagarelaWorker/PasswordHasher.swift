// PasswordHasher: runs PBKDF2 on a few background threads and hands the result back to the worker's loop.
import Dispatch
import Foundation
import TagarelaCrypto
import TagarelaEventLoop

/// A small pool for the slow password hash. The worker's event loop must never run PBKDF2 itself:
/// one login at 100,000 iterations costs tens of milliseconds, and every other user's messages
/// on this shard would wait behind it.
final class PasswordHasher {
    private let queue: DispatchQueue
    private let slots: DispatchSemaphore
    private unowned let loop: EventLoop

    init(threads: Int, loop: EventLoop) {
        self.queue = DispatchQueue(label: "tagarela.pbkdf2", attributes: .concurrent)
        self.slots = DispatchSemaphore(value: max(1, threads))
        self.loop = loop
    }

    /// Derives the key off the loop, then calls `done` on the loop's thread.
    func derive(password: [UInt8], salt: [UInt8], iterations: Int, done: @escaping ([UInt8]) -> Void) {
        let slots = self.slots
        let loop = self.loop
        queue.async {
            slots.wait()
            let key = PBKDF2.deriveKey(password: password, salt: salt, iterations: iterations, length: 32)
            slots.signal()
            loop.execute { done(key) }
        }
    }
}
