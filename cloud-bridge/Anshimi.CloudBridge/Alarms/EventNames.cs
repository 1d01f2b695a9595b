using System.Globalization;
using Anshimi.Protocol;

namespace Anshimi.CloudBridge.Alarms;

/// <summary>Operator-facing Korean and English names of the Contact ID events (DESIGN §5): one for every code in <see cref="ContactIdCode"/>.</summary>
public static class EventNames
{
    private static readonly Dictionary<int, (string Ko, string En)> Names = new()
    {
        [ContactIdCode.Panic] = ("비상벨", "Panic"),
        [ContactIdCode.Duress] = ("협박", "Duress"),
        [ContactIdCode.SilentPanic] = ("무음 비상", "Silent panic"),
        [ContactIdCode.Tamper] = ("탬퍼", "Tamper"),
        [ContactIdCode.Loitering] = ("수상한 방문자 (배회)", "Suspicious visitor (loitering)"),
        [ContactIdCode.AcLoss] = ("전원 상실", "AC power loss"),
        [ContactIdCode.LowBattery] = ("배터리 부족", "Low battery"),
        [ContactIdCode.SystemShutdown] = ("시스템 종료", "System shutdown"),
        [ContactIdCode.SystemPeripheralTrouble] = ("주변장치 장애", "System peripheral trouble"),
        [ContactIdCode.CommunicationTrouble] = ("통신 장애", "Communication trouble"),
        [ContactIdCode.CommunicationPathFailure] = ("통신 경로 장애", "Communication path failure"),
        [ContactIdCode.SupervisionLoss] = ("감시 신호 끊김", "Supervision loss"),
        [ContactIdCode.SensorTamper] = ("센서 탬퍼", "Sensor tamper"),
        [ContactIdCode.RfLowBattery] = ("무선 배터리 부족", "RF low battery"),
        [ContactIdCode.ManualTestReport] = ("수동 시험 보고", "Manual test report"),
        [ContactIdCode.PeriodicTest] = ("정기 시험", "Periodic test"),
        [ContactIdCode.DoorbellRing] = ("초인종", "Doorbell ring"),
    };

    public static (string Ko, string En) Of(int code, int qualifier)
    {
        (string ko, string en) = Names.TryGetValue(code, out var known)
            ? known
            : ("이벤트 " + code.ToString(CultureInfo.InvariantCulture), "Event " + code.ToString(CultureInfo.InvariantCulture));
        return qualifier == ContactIdQualifier.Restore ? (ko + " 복구", en + " restored") : (ko, en);
    }
}
