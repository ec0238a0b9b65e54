namespace Sluice.Tests.Infrastructure;

/// <summary>An injected fault in force for a while: started for a duration, ended early by a heal; read from any thread.</summary>
internal sealed class LastingFault
{
    private long _until;

    public bool Active => Environment.TickCount64 < Interlocked.Read(ref _until);

    public void For(TimeSpan duration) => Interlocked.Exchange(ref _until, Environment.TickCount64 + (long)duration.TotalMilliseconds);

    public void End() => Interlocked.Exchange(ref _until, 0);
}
