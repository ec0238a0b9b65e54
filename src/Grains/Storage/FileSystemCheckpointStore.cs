using System.Runtime.InteropServices;

namespace Sluice.Storage;

/// <summary>
/// Checkpoints as files under a root folder: path "p/chk-3/_metadata" is the file {root}/p/chk-3/_metadata.
/// Every write goes to a temporary file in the target folder, is flushed to disk (fsync) and then renamed into
/// place, so a reader sees the old file, the new file or none, never a partial one; the folder is fsynced after
/// the rename so the new name survives a crash. <see cref="CommitAsync"/> gives the complete temporary file the
/// final name without overwriting, in one system call that fails if the name exists (see
/// <see cref="NativeFileSystem.MoveNoReplace"/>), so exactly one concurrent commit wins, also across processes
/// sharing the folder (on a local file system; network file systems are as atomic as their link/rename).
/// </summary>
internal sealed class FileSystemCheckpointStore : ICheckpointStore
{
    private const string TempSuffix = ".tmp";

    public FileSystemCheckpointStore(FileSystemCheckpointStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = options.Validate(CheckpointStorageOptions.SectionName + ":" + CheckpointStoreKinds.FileSystem);
        if (errors.Count > 0)
        {
            throw new ArgumentException(string.Join(" ", errors), nameof(options));
        }

        Root = Path.GetFullPath(options.Root);
        Name = $"file system checkpoint store at '{Root}'";
    }

    /// <summary>Absolute root folder.</summary>
    public string Root { get; }

    public string Name { get; }

    public async Task PutAsync(string path, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        CheckpointPaths.ValidatePath(path);
        var target = FullPath(path);
        await Run("put", path, async () =>
        {
            var temp = await WriteTempAsync(target, data, cancellationToken);
            try
            {
                File.Move(temp, target, overwrite: true);
            }
            catch
            {
                TryDelete(temp);
                throw;
            }

            SyncDirectory(Path.GetDirectoryName(target)!);
            return true;
        }, cancellationToken);
    }

    public async Task<byte[]?> GetAsync(string path, CancellationToken cancellationToken = default)
    {
        CheckpointPaths.ValidatePath(path);
        var target = FullPath(path);
        return await Run<byte[]?>("get", path, async () =>
        {
            try
            {
                return await File.ReadAllBytesAsync(target, cancellationToken);
            }
            catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
            {
                return null;
            }
        }, cancellationToken);
    }

    public async Task<bool> CommitAsync(string path, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        CheckpointPaths.ValidatePath(path);
        var target = FullPath(path);
        return await Run("commit", path, async () =>
        {
            if (File.Exists(target))
            {
                return false;
            }

            var temp = await WriteTempAsync(target, data, cancellationToken);
            bool created;
            try
            {
                created = NativeFileSystem.MoveNoReplace(temp, target);
            }
            catch
            {
                TryDelete(temp);
                throw;
            }

            if (!created)
            {
                TryDelete(temp);
                return false;
            }

            SyncDirectory(Path.GetDirectoryName(target)!);
            return true;
        }, cancellationToken);
    }

    public async Task<IReadOnlyList<string>> ListAsync(string prefix, CancellationToken cancellationToken = default)
    {
        CheckpointPaths.ValidatePrefix(prefix);
        return await Run<IReadOnlyList<string>>("list", prefix, () =>
        {
            // Walk only the deepest folder the prefix names completely; the rest is a string prefix match.
            var slash = prefix.LastIndexOf('/');
            var folder = slash < 0 ? Root : Path.Combine(Root, prefix[..slash].Replace('/', Path.DirectorySeparatorChar));
            var result = new List<string>();
            try
            {
                foreach (var file in Directory.EnumerateFiles(folder, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 }))
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    var relative = Path.GetRelativePath(Root, file).Replace(Path.DirectorySeparatorChar, '/');
                    if (relative.StartsWith(prefix, StringComparison.Ordinal) && !CheckpointPaths.IsReserved(relative))
                    {
                        result.Add(relative);
                    }
                }
            }
            catch (DirectoryNotFoundException)
            {
                // The folder does not exist (nothing under the prefix) or was removed by a concurrent delete.
            }

            result.Sort(StringComparer.Ordinal);
            return Task.FromResult<IReadOnlyList<string>>(result);
        }, cancellationToken);
    }

    public async Task DeleteAsync(string path, CancellationToken cancellationToken = default)
    {
        CheckpointPaths.ValidatePath(path);
        var target = FullPath(path);
        await Run("delete", path, () =>
        {
            try
            {
                File.Delete(target);
            }
            catch (DirectoryNotFoundException)
            {
                return Task.FromResult(true);
            }

            RemoveEmptyFolders(Path.GetDirectoryName(target)!);
            return Task.FromResult(true);
        }, cancellationToken);
    }

    public async Task<bool> ExistsAsync(string path, CancellationToken cancellationToken = default)
    {
        CheckpointPaths.ValidatePath(path);
        var target = FullPath(path);
        return await Run("exists", path, () => Task.FromResult(File.Exists(target)), cancellationToken);
    }

    public override string ToString() => Name;

    private string FullPath(string path) => Path.Combine(Root, path.Replace('/', Path.DirectorySeparatorChar));

    /// <summary>Writes and fsyncs a uniquely named temporary file beside <paramref name="target"/>; returns its path.</summary>
    private static async Task<string> WriteTempAsync(string target, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        var folder = Path.GetDirectoryName(target)!;
        var temp = Path.Combine(folder, $"{CheckpointPaths.ReservedPrefix}{Path.GetFileName(target)}.{Guid.NewGuid():N}{TempSuffix}");
        // A concurrent delete may remove an emptied folder between CreateDirectory and the open: retry a few times.
        for (var attempt = 1; ; attempt++)
        {
            Directory.CreateDirectory(folder);
            try
            {
                await using var stream = new FileStream(temp, new FileStreamOptions
                {
                    Mode = FileMode.CreateNew,
                    Access = FileAccess.Write,
                    Share = FileShare.None,
                    Options = FileOptions.Asynchronous,
                    PreallocationSize = data.Length,
                });
                await stream.WriteAsync(data, cancellationToken);
                stream.Flush(flushToDisk: true);
                return temp;
            }
            catch (DirectoryNotFoundException) when (attempt < 5)
            {
            }
            catch
            {
                TryDelete(temp);
                throw;
            }
        }
    }

    /// <summary>Removes emptied folders from <paramref name="folder"/> up to (not including) the root.</summary>
    private void RemoveEmptyFolders(string folder)
    {
        var root = Path.TrimEndingDirectorySeparator(Root);
        while (folder.Length > root.Length && folder.StartsWith(root, StringComparison.Ordinal))
        {
            try
            {
                Directory.Delete(folder, recursive: false);
            }
            catch (IOException)
            {
                return; // not empty (or already gone): stop
            }
            catch (UnauthorizedAccessException)
            {
                return;
            }

            folder = Path.GetDirectoryName(folder)!;
        }
    }

    private static void TryDelete(string file)
    {
        try
        {
            File.Delete(file);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    /// <summary>fsync of the folder, so a rename in it is durable (Unix; Windows has no such call for folders).</summary>
    private static void SyncDirectory(string folder)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        NativeFileSystem.FsyncDirectory(folder);
    }

    private async Task<T> Run<T>(string operation, string path, Func<Task<T>> action, CancellationToken cancellationToken)
    {
        try
        {
            return await action();
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception e) when (e is not CheckpointStoreException)
        {
            throw CheckpointStoreException.Wrap(Name, operation, path, e);
        }
    }
}

/// <summary>
/// The POSIX calls .NET does not offer: an atomic rename that never replaces, and fsync of a folder.
/// </summary>
internal static partial class NativeFileSystem
{
    private const int ReadOnly = 0; // O_RDONLY
    private const int ErrorExists = 17; // EEXIST, the same on Linux, macOS and the BSDs
    private const int AtCurrentDirectory = -100; // AT_FDCWD on Linux
    private const uint RenameNoReplace = 1; // RENAME_NOREPLACE on Linux

    /// <summary>
    /// Gives <paramref name="source"/> the name <paramref name="target"/> if, and only if, that name is free, as one
    /// atomic step; returns false (leaving <paramref name="source"/>) if <paramref name="target"/> exists.
    /// </summary>
    /// <remarks>
    /// Not <c>File.Move(source, target, overwrite: false)</c>: on Unix .NET implements it as lstat(target) and then
    /// rename(), which replaces a target created in between, so two concurrent commits can both "win" (seen in the
    /// contract test). Here: link(2), which fails with EEXIST if the name exists, then unlink of the source; on file
    /// systems without hard links, Linux's renameat2(RENAME_NOREPLACE). On Windows File.Move without overwrite is
    /// MoveFileEx without MOVEFILE_REPLACE_EXISTING, which is atomic.
    /// </remarks>
    public static bool MoveNoReplace(string source, string target)
    {
        if (OperatingSystem.IsWindows())
        {
            try
            {
                File.Move(source, target, overwrite: false);
                return true;
            }
            catch (IOException) when (File.Exists(target))
            {
                return false;
            }
        }

        if (Link(source, target) == 0)
        {
            File.Delete(source);
            return true;
        }

        var linkError = Marshal.GetLastPInvokeError();
        if (linkError == ErrorExists)
        {
            return false;
        }

        if (OperatingSystem.IsLinux())
        {
            int renamed;
            try
            {
                renamed = RenameAt2(AtCurrentDirectory, source, AtCurrentDirectory, target, RenameNoReplace);
            }
            catch (EntryPointNotFoundException)
            {
                renamed = -1; // libc without renameat2 (glibc < 2.28)
            }

            if (renamed == 0)
            {
                return true;
            }

            if (renamed < 0 && Marshal.GetLastPInvokeError() == ErrorExists)
            {
                return false;
            }
        }

        throw new IOException(
            $"Cannot create '{target}' atomically: link(2) failed with errno {linkError} ({Marshal.GetPInvokeErrorMessage(linkError)}) "
            + "and no rename without replace is available on this file system.");
    }

    public static void FsyncDirectory(string folder)
    {
        int fd;
        try
        {
            fd = Open(folder, ReadOnly);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return; // no libc to call: the rename is still atomic, only its durability is up to the OS
        }

        if (fd < 0)
        {
            throw new IOException($"Could not open folder '{folder}' to fsync it (errno {Marshal.GetLastPInvokeError()}).");
        }

        try
        {
            if (Fsync(fd) != 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                // EINVAL: the file system does not support fsync on folders (e.g. some network mounts).
                if (errno != 22)
                {
                    throw new IOException($"fsync of folder '{folder}' failed (errno {errno}).");
                }
            }
        }
        finally
        {
            _ = Close(fd);
        }
    }

    [LibraryImport("libc", EntryPoint = "link", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Link(string existing, string created);

    [LibraryImport("libc", EntryPoint = "renameat2", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int RenameAt2(int oldDirectory, string oldPath, int newDirectory, string newPath, uint flags);

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}
