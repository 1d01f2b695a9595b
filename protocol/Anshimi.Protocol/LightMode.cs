namespace Anshimi.Protocol
{
    /// <summary>
    /// What a streetlight is doing (beacon) or is asked to do (command), protocol/README.md §3.
    /// Priority on the light: emergency over escort over schedule.
    /// </summary>
    public static class LightMode
    {
        /// <summary>Beacon: following its dusk-to-dawn schedule. Command: release the light back to its schedule.</summary>
        public const byte Schedule = 0;

        /// <summary>Full brightness with a gentle blink while an escorted walker is near (귀가모니터링 return-home monitoring).</summary>
        public const byte Escort = 1;

        /// <summary>Continuous blinking until cleared (긴급신고 emergency report nearby).</summary>
        public const byte Emergency = 2;

        public static bool IsValid(int mode)
        {
            return mode >= Schedule && mode <= Emergency;
        }
    }
}
