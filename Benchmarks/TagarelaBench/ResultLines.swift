// ResultLines: the JSON result lines of earlier runs, read from stdin, and the aligned text table the readers print.
import Foundation
import TagarelaJSON

/// What `summarize` and `compare-table` share: both read the result lines a scenario prints last
/// (other output, such as progress lines, is skipped) and print one table of plain columns.
enum ResultLines {
    /// Lines read at most: far more than any comparison prints, and it bounds a mistaken pipe.
    static let linesMax = 10_000

    /// Every line on stdin that is a JSON object with a `scenario` field, in input order.
    static func read() -> [JSON] {
        var lines: [JSON] = []
        while let line = readLine(strippingNewline: true), lines.count < linesMax {
            guard line.hasPrefix("{"), let json = try? JSON.parse(line), json["scenario"] != nil else { continue }
            lines.append(json)
        }
        return lines
    }

    /// Reads the result lines and prints `table` of them; exit status 1 when there were none.
    static func printTable(_ table: ([JSON]) -> String) -> Int32 {
        let lines = read()
        print(table(lines), terminator: "")
        return lines.isEmpty ? 1 : 0
    }

    /// `rows` as text: each column padded to its widest cell, two spaces between columns, no
    /// trailing spaces, one line per row.
    static func aligned(_ rows: [[String]]) -> String {
        var widths = [Int](repeating: 0, count: rows.first?.count ?? 0)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        return rows.map { row in
            row.enumerated().map { $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }.joined(separator: "\n") + "\n"
    }
}
