// RateLimiterTests: the token bucket and strike counter, driven by a fake clock.
import XCTest
@testable import TagarelaGateway

final class RateLimiterTests: XCTestCase {
    let policy = RateLimitPolicy()

    func testBurstThenLimitedWithRetryHint() {
        var limiter = RateLimiter()
        for _ in 0..<100 { XCTAssertEqual(limiter.admit(nowMs: 1_000, policy: policy), .allowed) }
        // 50 tokens per second: one token every 20 ms.
        XCTAssertEqual(limiter.admit(nowMs: 1_000, policy: policy), .limited(retryAfterMs: 20))
        XCTAssertEqual(limiter.admit(nowMs: 1_010, policy: policy), .limited(retryAfterMs: 10))
        XCTAssertEqual(limiter.admit(nowMs: 1_020, policy: policy), .allowed)
    }

    func testRefillIsCappedAtBurst() {
        var limiter = RateLimiter()
        XCTAssertEqual(limiter.admit(nowMs: 0, policy: policy), .allowed)
        var allowed = 0
        while limiter.admit(nowMs: 1_000_000, policy: policy) == .allowed { allowed += 1 }
        XCTAssertEqual(allowed, 100)
    }

    func testSustainedRateIsAllowed() {
        var limiter = RateLimiter()
        var now: Int64 = 0
        for _ in 0..<1_000 {
            XCTAssertEqual(limiter.admit(nowMs: now, policy: policy), .allowed)
            now += 20
        }
    }

    func testMoreThanStrikesMaxInWindowCloses() {
        var limiter = RateLimiter()
        for _ in 0..<100 { _ = limiter.admit(nowMs: 0, policy: policy) }
        for i in 0..<100 {
            guard case .limited = limiter.admit(nowMs: 0, policy: policy) else {
                return XCTFail("strike \(i + 1) should only be limited")
            }
        }
        guard case .limitedAndClose = limiter.admit(nowMs: 0, policy: policy) else {
            return XCTFail("the 101st strike closes")
        }
    }

    func testStrikeWindowResets() {
        let tight = RateLimitPolicy(ratePerSecond: 1, burst: 1, strikesMax: 2, strikeWindowMs: 100)
        var limiter = RateLimiter()
        XCTAssertEqual(limiter.admit(nowMs: 0, policy: tight), .allowed)
        XCTAssertEqual(limiter.admit(nowMs: 1, policy: tight), .limited(retryAfterMs: 999))
        XCTAssertEqual(limiter.admit(nowMs: 2, policy: tight), .limited(retryAfterMs: 998))
        // The window has passed: strikes count from zero again.
        XCTAssertEqual(limiter.admit(nowMs: 200, policy: tight), .limited(retryAfterMs: 800))
        XCTAssertEqual(limiter.admit(nowMs: 201, policy: tight), .limited(retryAfterMs: 799))
        XCTAssertEqual(limiter.admit(nowMs: 202, policy: tight), .limitedAndClose(retryAfterMs: 798))
    }
}
