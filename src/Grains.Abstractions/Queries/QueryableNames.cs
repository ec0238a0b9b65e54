namespace Sluice.Queries;

/// <summary>The rules for queryable state names: they appear in URLs (<c>/api/pipelines/{id}/state/{name}/{key}</c>).</summary>
internal static class QueryableNames
{
    public const int MaxLength = 64;

    /// <exception cref="ArgumentException">The name is empty, too long or has a character other than letters, digits, '-', '_' or '.'.</exception>
    public static void Validate(string? name, string parameterName)
    {
        if (!IsValid(name))
        {
            throw new ArgumentException(
                $"Queryable state name \"{name}\" must be 1-{MaxLength} characters of letters, digits, '-', '_' or '.'.", parameterName);
        }
    }

    public static bool IsValid(string? name)
    {
        if (string.IsNullOrEmpty(name) || name.Length > MaxLength)
        {
            return false;
        }

        foreach (var c in name)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('-' or '_' or '.'))
            {
                return false;
            }
        }

        return true;
    }
}
