// ChannelHandler: the callbacks an event loop makes for one connection.

/// What a connection's owner hears from the loop. All calls arrive on the loop's thread.
public protocol ChannelHandler: AnyObject {
    /// Bytes just read. `bytes` points into the loop's shared 64 KiB read buffer and is valid only
    /// during this call: parse in place (unmasking in place is fine) and copy only what must be kept.
    func channelRead(_ channel: Channel, _ bytes: UnsafeMutableRawBufferPointer)

    /// The channel is gone: its descriptor is closed and removed from the loop. Called exactly
    /// once per channel; afterwards the channel drops its reference to this handler.
    func channelClosed(_ channel: Channel)

    /// Queued output that had passed the low-water mark (`Channel.lowWaterMark`) drained below it:
    /// a producer paused for backpressure may resume. Default: nothing.
    func channelWritable(_ channel: Channel)
}

extension ChannelHandler {
    /// Does nothing.
    public func channelWritable(_ channel: Channel) {}
}
