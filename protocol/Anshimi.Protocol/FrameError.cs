namespace Anshimi.Protocol
{
    /// <summary>Why a frame was refused. Each value is a reject reason the gateway counts.</summary>
    public enum FrameError : byte
    {
        None = 0,
        TooShort = 1,
        UnknownVersion = 2,
        UnknownType = 3,
        LengthMismatch = 4,
        FieldOutOfRange = 5,
        BadTag = 6,
        UnknownDevice = 7,
        Replayed = 8,

        /// <summary>A frame type that travels the other way (§3), e.g. an ack on a device's uplink.</summary>
        WrongDirection = 9,

        /// <summary>Version 2: a frame of a key epoch below the one the receiver has moved to (§10, re-key).</summary>
        StaleEpoch = 10,

        /// <summary>An escort frame for another area than the light's (§10.1): relayed from elsewhere in the city.</summary>
        WrongArea = 11,
    }

    /// <summary>Stable lower-case names for reject reasons (enum names are never put on the wire or in metrics).</summary>
    public static class FrameErrorName
    {
        public static string Of(FrameError error)
        {
            switch (error)
            {
                case FrameError.None: return "none";
                case FrameError.TooShort: return "too_short";
                case FrameError.UnknownVersion: return "unknown_version";
                case FrameError.UnknownType: return "unknown_type";
                case FrameError.LengthMismatch: return "length_mismatch";
                case FrameError.FieldOutOfRange: return "field_out_of_range";
                case FrameError.BadTag: return "bad_tag";
                case FrameError.UnknownDevice: return "unknown_device";
                case FrameError.Replayed: return "replayed";
                case FrameError.WrongDirection: return "wrong_direction";
                case FrameError.StaleEpoch: return "stale_epoch";
                case FrameError.WrongArea: return "wrong_area";
                default: return "unknown";
            }
        }
    }

    /// <summary>The outcome of reading bytes as a frame: a frame, or an error — never an exception.</summary>
    public sealed class FrameReadResult
    {
        private FrameReadResult(Frame? frame, FrameError error)
        {
            Frame = frame;
            Error = error;
        }

        public Frame? Frame { get; }

        public FrameError Error { get; }

        public bool IsOk
        {
            get { return Error == FrameError.None; }
        }

        public static FrameReadResult Ok(Frame frame)
        {
            return new FrameReadResult(frame, FrameError.None);
        }

        public static FrameReadResult Fail(FrameError error)
        {
            return new FrameReadResult(null, error);
        }
    }
}
