namespace Anshimi.Firmware.Bells
{
    /// <summary>A command word the voice module was taught, and the Contact ID event it raises.</summary>
    public sealed class VoiceKeyword
    {
        public VoiceKeyword(int commandId, ushort eventCode)
        {
            CommandId = commandId;
            EventCode = eventCode;
        }

        /// <summary>The module's id for the word (DF2301Q: 5–21 for learned command words).</summary>
        public int CommandId { get; }

        /// <summary>120 panic, or 121 duress (raised silently: nothing shows on the bell).</summary>
        public ushort EventCode { get; }
    }
}
