namespace Anshimi.Protocol
{
    /// <summary>
    /// Every Contact ID event code a device, the gateway or the app back end sends (DESIGN §5); the console
    /// names each one, and a test holds it to that. A new code goes here, never as a literal elsewhere.
    /// </summary>
    public static class ContactIdCode
    {
        public const ushort None = 0;
        public const ushort Panic = 120;
        public const ushort Duress = 121;
        public const ushort SilentPanic = 122;
        public const ushort Tamper = 137;

        /// <summary>24-hour non-burglary: a doorbell's loitering detection (motion, no ring), shown as 수상한 방문자.</summary>
        public const ushort Loitering = 150;
        public const ushort AcLoss = 301;
        public const ushort LowBattery = 302;
        public const ushort SystemShutdown = 308;
        public const ushort SystemPeripheralTrouble = 330;
        public const ushort CommunicationTrouble = 350;
        public const ushort CommunicationPathFailure = 354;
        public const ushort SupervisionLoss = 381;
        public const ushort SensorTamper = 383;
        public const ushort RfLowBattery = 384;

        /// <summary>Manual trigger test report: how an installer's walk test reaches an alarm receiver without a dispatch.</summary>
        public const ushort ManualTestReport = 601;

        public const ushort PeriodicTest = 602;

        /// <summary>Anshimi's own status event (qualifier 6): a doorbell ring, kept at the gateway.</summary>
        public const ushort DoorbellRing = 901;

        /// <summary>Largest code the three Contact ID digits can carry.</summary>
        public const ushort Max = 999;
    }

    /// <summary>Contact ID event qualifier: the first digit after the message type.</summary>
    public static class ContactIdQualifier
    {
        public const byte None = 0;
        public const byte NewEvent = 1;
        public const byte Restore = 3;
        public const byte StatusReport = 6;

        public static bool IsValid(byte qualifier)
        {
            return qualifier == None || qualifier == NewEvent || qualifier == Restore || qualifier == StatusReport;
        }
    }
}
