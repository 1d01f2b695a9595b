namespace Anshimi.Firmware.Hal
{
    /// <summary>An offline voice-recognition module that reports the id of each command word it recognised.</summary>
    public interface IVoiceModule
    {
        /// <summary>The next recognised command id (1–255) not yet taken, or -1 when there is none. Never throws on line noise.</summary>
        int NextCommand();
    }
}
