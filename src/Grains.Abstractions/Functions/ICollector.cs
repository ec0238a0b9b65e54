namespace Sluice.Functions;

/// <summary>Receives the records a user function emits.</summary>
public interface ICollector<in T>
{
    void Collect(T value);
}
