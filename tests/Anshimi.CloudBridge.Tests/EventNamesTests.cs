using Anshimi.CloudBridge.Alarms;

namespace Anshimi.CloudBridge.Tests;

public class EventNamesTests
{
    [Theory]
    [InlineData(120, 1, "비상벨", "Panic")]
    [InlineData(121, 1, "협박", "Duress")]
    [InlineData(122, 1, "무음 비상", "Silent panic")]
    [InlineData(137, 1, "탬퍼", "Tamper")]
    [InlineData(350, 3, "통신 장애 복구", "Communication trouble restored")]
    [InlineData(777, 1, "이벤트 777", "Event 777")]
    public void Contact_id_events_have_Korean_and_English_names(int code, int qualifier, string ko, string en)
    {
        Assert.Equal((ko, en), EventNames.Of(code, qualifier));
    }
}
