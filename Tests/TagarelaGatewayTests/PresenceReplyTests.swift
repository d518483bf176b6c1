// PresenceReplyTests: get_presence answered by a live gateway is one JSON object with each user once, whatever case the ids were asked in.
import XCTest
import TagarelaJSON
@testable import TagarelaGateway

final class PresenceReplyTests: GatewayTestCase {
    func testPresenceAnswersEachUserOnceWhateverTheCaseOfTheIDs() throws {
        let h = try start(workers: 1)
        let ana = try loggedIn(h, "ana")
        ana.send("{\"type\":\"get_presence\",\"request_id\":\"p\",\"user_ids\":[\"ana\",\"ANA\",\"Ana\",\"bob\",\"BOB\"]}\n")
        let line = try XCTUnwrap(ana.readLine())
        // Our own strict parser refuses duplicate keys: the answer must parse.
        let reply = try JSON.parse(line)
        XCTAssertEqual(reply["request_id"]?.string, "p")
        XCTAssertEqual(reply["presence"]?.object?.keys, ["ana", "bob"], line)
        XCTAssertEqual(reply["presence"]?["ana"]?.string, "online")
        XCTAssertEqual(reply["presence"]?["bob"]?.string, "offline")
    }
}
