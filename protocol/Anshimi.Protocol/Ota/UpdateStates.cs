namespace Anshimi.Protocol.Ota
{
    /// <summary>A device's update state: its byte in a state report and its text in JSON (protocol/README.md §11.5).</summary>
    public static class UpdateState
    {
        public const byte Idle = 0;
        public const byte Offered = 1;
        public const byte Downloading = 2;
        public const byte Verified = 3;
        public const byte Activating = 4;
        public const byte Trial = 5;
        public const byte Confirmed = 6;
        public const byte RolledBack = 7;
        public const byte Refused = 8;
        public const byte Failed = 9;
        public const byte Cancelled = 10;

        private static readonly string[] Names =
        {
            "idle", "offered", "downloading", "verified", "activating", "trial", "confirmed", "rolled-back", "refused", "failed", "cancelled",
        };

        /// <summary>The JSON text of a state byte, or null for an unknown one.</summary>
        public static string? NameOf(int state)
        {
            return state >= 0 && state < Names.Length ? Names[state] : null;
        }

        /// <summary>The state byte of a JSON text, or -1.</summary>
        public static int Parse(string? name)
        {
            return IndexOf(Names, name);
        }

        /// <summary>True when nothing more happens for this release at this device (§11.5, "Final").</summary>
        public static bool IsFinal(int state, int reason)
        {
            return state == Confirmed || state == RolledBack || state == Failed || state == Cancelled ||
                (state == Refused && reason != UpdateReason.AlarmPending);
        }

        internal static int IndexOf(string[] names, string? name)
        {
            if (name == null)
            {
                return -1;
            }

            for (int i = 0; i < names.Length; i++)
            {
                if (names[i] == name)
                {
                    return i;
                }
            }

            return -1;
        }
    }

    /// <summary>Why a device refused, failed or rolled back: its byte in a state report and its text in JSON.</summary>
    public static class UpdateReason
    {
        public const byte None = 0;
        public const byte BadManifest = 1;
        public const byte UnknownKey = 2;
        public const byte BadSignature = 3;
        public const byte WrongKind = 4;
        public const byte WrongBoard = 5;
        public const byte Downgrade = 6;
        public const byte TooOld = 7;
        public const byte Busy = 8;
        public const byte NoSpace = 9;
        public const byte AlarmPending = 10;
        public const byte BadChunk = 11;
        public const byte ImageMismatch = 12;
        public const byte FlashError = 13;
        public const byte Crashed = 14;
        public const byte TrialTimeout = 15;
        public const byte BadSlot = 16;
        public const byte Expired = 17;
        public const byte Unreachable = 18;

        private static readonly string[] Names =
        {
            "", "bad_manifest", "unknown_key", "bad_signature", "wrong_kind", "wrong_board", "downgrade", "too_old", "busy", "no_space",
            "alarm_pending", "bad_chunk", "image_mismatch", "flash_error", "crashed", "trial_timeout", "bad_slot", "expired", "unreachable",
        };

        /// <summary>The JSON text of a reason byte (null for none or an unknown one).</summary>
        public static string? NameOf(int reason)
        {
            return reason > 0 && reason < Names.Length ? Names[reason] : null;
        }

        /// <summary>The reason byte of a JSON text (0 for null), or -1 for an unknown text.</summary>
        public static int Parse(string? name)
        {
            return name == null ? None : (name.Length == 0 ? -1 : UpdateState.IndexOf(Names, name));
        }
    }
}
