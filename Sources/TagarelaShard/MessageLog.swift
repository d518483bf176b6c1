// MessageLog: one chat's history in fixed-size chunks, so that an image of the shard costs the loop little when the chat grows after it.
import TagarelaModel

/// A chat's messages (`log[k].seq == k + 1`), a copy-on-write value like an array, stored as
/// chunks of at most `chunkCount` messages. `ShardEngine.image()` shares every chat's log with
/// the snapshot thread; the chat's next append then copies only the list of chunks and the last
/// chunk, not the whole history, so the loop's cost of an image stays bounded however long a
/// chat is (a plain array would copy a million-message chat on its first message after the image).
struct MessageLog: RandomAccessCollection {
    /// 4096 messages: copying a chunk is a few hundred microseconds of the loop at most, and a
    /// million-message chat is a list of 245 chunks.
    static let chunkCount = 4096
    private var chunks: [[Message]] = []
    /// Messages stored.
    private(set) var count = 0

    var startIndex: Int { 0 }
    var endIndex: Int { count }

    subscript(position: Int) -> Message {
        chunks[position / MessageLog.chunkCount][position % MessageLog.chunkCount]
    }

    /// Appends in place; a chunk grows like an array (a chat of 3 messages holds 3, not 4096).
    mutating func append(_ message: Message) {
        if count % MessageLog.chunkCount == 0 { chunks.append([]) }
        chunks[chunks.count - 1].append(message)
        count += 1
    }

    /// Room in the list of chunks for `total` messages (each chunk grows as it fills).
    mutating func reserveCapacity(_ total: Int) {
        chunks.reserveCapacity((total + MessageLog.chunkCount - 1) / MessageLog.chunkCount)
    }
}
