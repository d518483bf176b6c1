// CBORFloat: IEEE 754 half precision to and from double, and the shortest exact width of a double (RFC 8949 section 4.2.2).

/// Float width conversions. Written out rather than through `Float16`, which some platforms the
/// package names (macOS on Intel) do not have.
public enum CBORFloat {
    /// The value of a half-precision float (RFC 8949 Appendix D), infinities and NaN included.
    public static func double(fromHalf h: UInt16) -> Double {
        let exponent = Int((h >> 10) & 0x1F)
        let mantissa = Double(h & 0x3FF)
        let magnitude: Double
        switch exponent {
        case 0: magnitude = Double(sign: .plus, exponent: -24, significand: mantissa)
        case 31: magnitude = mantissa == 0 ? .infinity : .nan
        default: magnitude = Double(sign: .plus, exponent: exponent - 25, significand: mantissa + 1024)
        }
        return h & 0x8000 != 0 ? -magnitude : magnitude
    }

    /// The half-precision bits of `f` when the conversion is exact, nil otherwise. Only for
    /// finite values (the JSON model has no other).
    public static func halfBits(exactly f: Float) -> UInt16? {
        let bits = f.bitPattern
        let sign = UInt16(bits >> 16) & 0x8000
        let exponent = Int((bits >> 23) & 0xFF)
        let mantissa = bits & 0x7F_FFFF
        if exponent == 0 && mantissa == 0 { return sign }
        guard exponent != 0 && exponent != 0xFF else { return nil }
        let unbiased = exponent - 127
        if unbiased >= -14 && unbiased <= 15 {
            // A normal half keeps the top 10 of the 23 mantissa bits.
            guard mantissa & 0x1FFF == 0 else { return nil }
            return sign | UInt16(unbiased + 15) << 10 | UInt16(mantissa >> 13)
        }
        if unbiased >= -24 && unbiased < -14 {
            // A subnormal half is m * 2^-24 with m below 1024.
            let significand = mantissa | 0x80_0000
            let shift = UInt32(-1 - unbiased)
            guard significand & ((1 << shift) - 1) == 0 else { return nil }
            return sign | UInt16(significand >> shift)
        }
        return nil
    }
}
