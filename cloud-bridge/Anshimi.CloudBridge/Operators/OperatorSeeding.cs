using Microsoft.Extensions.Options;

namespace Anshimi.CloudBridge.Operators;

/// <summary>Creates the configured seed accounts that do not exist yet, before the host serves requests.</summary>
public sealed class OperatorSeeding : IHostedService
{
    private readonly OperatorSignIn _signIn;
    private readonly OperatorOptions _options;

    public OperatorSeeding(OperatorSignIn signIn, IOptions<OperatorOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _signIn = signIn;
        _options = options.Value;
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (OperatorSeed seed in _options.Seed)
        {
            await _signIn.SaveAsync(seed, replace: false, actor: "seed", cancellationToken);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
