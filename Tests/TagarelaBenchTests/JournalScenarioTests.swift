// JournalScenarioTests: the journal scenario's flags: a lone `--help` prints the usage instead of running the benchmark in the current folder.
@testable import TagarelaBench
import XCTest

final class JournalScenarioTests: XCTestCase {
    func testHelpAndBadValuesPrintTheUsageAndRunNothing() {
        // Before, a single trailing flag was skipped by the parser and the benchmark ran,
        // writing journals into the current folder.
        XCTAssertEqual(JournalScenario.main(["--help"]), 0)
        XCTAssertEqual(JournalScenario.main(["--records"]), 2)
        XCTAssertEqual(JournalScenario.main(["--records", "x"]), 2)
        XCTAssertEqual(JournalScenario.main(["--records", "-5"]), 2)
        XCTAssertEqual(JournalScenario.main(["--fast", "yes"]), 2)
    }
}
