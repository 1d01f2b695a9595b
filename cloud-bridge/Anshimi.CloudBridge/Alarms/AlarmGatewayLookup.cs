using Anshimi.CloudBridge.Bindings;

namespace Anshimi.CloudBridge.Alarms;

/// <summary>The gateway an alarm's acknowledgements go to: the one stored with the alarm.</summary>
public sealed class AlarmGatewayLookup(AlarmStore store) : IAlarmGatewayLookup
{
    public async Task<string?> GatewayOfAsync(string key, CancellationToken cancellationToken) =>
        (await store.FindAsync(key, cancellationToken))?.GatewayId;
}
