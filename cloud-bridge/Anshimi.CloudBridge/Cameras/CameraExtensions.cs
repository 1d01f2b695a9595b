using System.Diagnostics;
using Anshimi.CloudBridge.Districts;
using Anshimi.Geo;
using Microsoft.Extensions.Options;

namespace Anshimi.CloudBridge.Cameras;

public static partial class CameraExtensions
{
    /// <summary>The CCTV index, loaded and checked once at start: a malformed file stops the bridge naming the bad line.</summary>
    public static WebApplicationBuilder AddNearbyCameras(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddOptions<CameraOptions>()
            .Bind(builder.Configuration.GetSection(CameraOptions.SectionName))
            .Validate(o => !string.IsNullOrWhiteSpace(o.File), "Cameras:File must be set.")
            .Validate(o => o.RadiusMetres is > 0 and <= 2000, "Cameras:RadiusMetres must be above 0 and at most 2000.")
            .Validate(o => o.MaxPerAlarm is >= 1 and <= 100, "Cameras:MaxPerAlarm must be from 1 to 100.")
            .ValidateOnStart();
        builder.Services.AddSingleton(sp =>
        {
            IOptions<CameraOptions> options = sp.GetRequiredService<IOptions<CameraOptions>>();
            long started = Stopwatch.GetTimestamp();
            AnshimiCameras cameras = NearbyCameras.Load(options.Value.File, sp.GetRequiredService<DistrictDirectory>());
            LogLoaded(sp.GetRequiredService<ILoggerFactory>().CreateLogger<NearbyCameras>(), cameras.All.Count, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            return new NearbyCameras(cameras, options);
        });

        builder.Services.AddSingleton<SiteSurroundings>();

        // Resolving the index when the host starts makes a bad file stop the start, not the first alarm.
        builder.Services.AddHostedService(sp => new LoadAtStart(sp.GetRequiredService<NearbyCameras>()));
        return builder;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Loaded {Points} Anshimi CCTV points in {Milliseconds:F0} ms")]
    private static partial void LogLoaded(ILogger logger, int points, double milliseconds);

    private sealed class LoadAtStart(NearbyCameras loaded) : IHostedService
    {
        public NearbyCameras Loaded { get; } = loaded;

        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
