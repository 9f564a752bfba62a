"""The host files of one student's server, and how the platform reaches it without trusting them.

    <data>/run/servers/<name>/      root's, 0711: a tmpfs of NBH_SOCKET_FOLDER_SIZE, so that what
                                    the student writes in their socket folder is bounded
        sock/                       the socket folder: the student's uid, group nginx, 2750,
                                    mounted read-write at /run/nbh, where Jupyter binds jupyter.sock
        jupyter.sock                root's hard link to the socket that the server bound, checked
                                    to be a socket of the student's uid (a hard link stays on its
                                    socket's filesystem: hence beside the folder)
    <data>/run/config/<name>/       root's, 0755, mounted read-only at /run/nbh-config: the Jupyter
                                    configuration the platform gives this server ("Stop my server")
    <data>/run/links/<secret>.sock  in root's folder (root:nginx 0750): a symbolic link to that hard
                                    link, every component of whose path is root's

The student can rename, replace or symlink anything in their socket folder at any moment, so
nobody connects through it: nginx, the readiness wait, the warm check and the monitor all use the
link. A unix socket is reached by its inode and a hard link is that inode, not a path to follow:
the link reaches the server the student started, or nothing once it stops, whatever is put in the
folder afterwards. Root only ever works in the socket folder through a descriptor of it (it sits
in a folder of root's, so its own name cannot be redirected), never follows an entry in it, and
empties it only while the container is down.
"""
import grp
import json
import logging
import os
import shutil
import stat
from collections.abc import Callable, Mapping
from pathlib import Path

from django.conf import settings

from nbhosting.containers import jupyter, tmpfs
from nbhosting.containers.backend import ContainerInfo
from nbhosting.containers.lease import LeaseTimeout, lease
from nbhosting.containers.models import Container
from nbhosting.folders import root_folder

log = logging.getLogger(__name__)
SOCKET_NAME = os.path.basename(jupyter.SOCKET_IN_CONTAINER)
# Entries the student may make in their socket folder's tmpfs, beside its bytes.
INODES = 64
KINDS = {stat.S_IFLNK: "a symbolic link", stat.S_IFREG: "a regular file", stat.S_IFDIR: "a folder",
         stat.S_IFIFO: "a named pipe", stat.S_IFCHR: "a device", stat.S_IFBLK: "a device"}


class UntrustedSocket(RuntimeError):
    """What the server left under its socket's name is not a socket of the student's own uid."""


def prepare(record: Container) -> None:
    """Before a start, under the pair's lease, with the container down: no link (an old one holds
    the previous socket), the server's tmpfs, a fresh socket folder for the student in it, and
    root's configuration."""
    nginx_gid = grp.getgrnam(settings.NBH_NGINX_GROUP).gr_gid
    for folder, mode in ((record.server_dir.parent, 0o711), (record.link.parent, 0o750),
                         (record.config_dir.parent, 0o711), (record.server_dir, 0o711)):
        root_folder(folder, mode)
    os.chown(record.link.parent, 0, nginx_gid)
    unlink(record)
    tmpfs.mount(record.server_dir, settings.NBH_SOCKET_FOLDER_SIZE, INODES, 0o711)
    shutil.rmtree(record.socket_dir, ignore_errors=True)
    record.socket_dir.mkdir()
    os.chown(record.socket_dir, student_uid(record), nginx_gid)
    record.socket_dir.chmod(0o2750)  # setgid: the socket gets nginx's group
    _write_config(record)


def student_uid(record: Container) -> int:
    uid = record.student.uid
    if uid is None:  # every student gets one when first seen: a row without is not ours to start
        raise OSError(f"student {record.student.name} has no uid")
    return uid


def _write_config(record: Container) -> None:
    shutil.rmtree(record.config_dir, ignore_errors=True)
    labconfig = root_folder(record.config_dir / "labconfig", 0o755)
    record.config_dir.chmod(0o755)
    path = labconfig / "default_setting_overrides.json"
    path.write_text(json.dumps(jupyter.frontend_defaults(f"/stop/{record.secret}/"), indent=1))
    path.chmod(0o644)


def adopt(record: Container) -> Path | None:
    """Links the socket that the server bound, once there is one, and returns the path to reach
    the server by (the link); None while no socket was ever linked. A socket found under the name
    that is not the linked one is linked in its place: a container started again outside a start
    has a new one. Anything but a socket of the student's uid raises UntrustedSocket. Under the
    pair's lease."""
    server = _open_folder(record.server_dir)
    try:
        linked = _lstat(SOCKET_NAME, server)
        folder = _open_folder(record.socket_dir)
        try:
            bound = _lstat(SOCKET_NAME, folder)
            if bound is not None and not _same(bound, linked):
                _refuse_unless_trusted(record, bound)
                _link(record, folder, server)
                linked = bound
        finally:
            os.close(folder)
    finally:
        os.close(server)
    if linked is None:
        return None
    _point(record)
    return record.link


def _link(record: Container, folder: int, server: int) -> None:
    """The hard link is made under a name nobody asks for, checked, then renamed into place: the
    link never names an inode that was not checked. The check is on the hard link itself, so the
    student cannot swap the entry between the check and the link."""
    temp = _temp_name(record)
    _remove(temp, server)
    os.link(SOCKET_NAME, temp, src_dir_fd=folder, dst_dir_fd=server, follow_symlinks=False)
    try:
        _refuse_unless_trusted(record, os.lstat(temp, dir_fd=server))
    except UntrustedSocket:
        _remove(temp, server)
        raise
    os.replace(temp, SOCKET_NAME, src_dir_fd=server, dst_dir_fd=server)


def _point(record: Container) -> None:
    """links/<secret>.sock names root's hard link; made aside and renamed into place."""
    target = str(record.server_dir / SOCKET_NAME)
    links = _open_folder(record.link.parent)
    try:
        try:
            if os.readlink(record.link.name, dir_fd=links) == target:
                return
        except (FileNotFoundError, OSError):
            pass
        temp = _temp_name(record)
        _remove(temp, links)
        os.symlink(target, temp, dir_fd=links)
        os.replace(temp, record.link.name, src_dir_fd=links, dst_dir_fd=links)
    finally:
        os.close(links)


def _refuse_unless_trusted(record: Container, info: os.stat_result) -> None:
    uid = student_uid(record)
    if not stat.S_ISSOCK(info.st_mode):
        kind = KINDS.get(stat.S_IFMT(info.st_mode), "not a socket")
        raise UntrustedSocket(f"the server's socket is {kind}, not a socket: refused")
    if info.st_uid != uid:
        raise UntrustedSocket(f"the server's socket belongs to uid {info.st_uid}, not to the student's "
                              f"uid {uid}: refused")


def unlink(record: Container) -> None:
    """Nothing reaches the server any more by its secret (nginx answers with the stopped page)."""
    temp = _temp_name(record)
    for folder, names in ((record.link.parent, (record.link.name, temp)), (record.server_dir, (SOCKET_NAME, temp))):
        try:
            opened = _open_folder(folder)
        except (FileNotFoundError, NotADirectoryError):
            continue
        try:
            for name in names:
                _remove(name, opened)
        finally:
            os.close(opened)


def close(record: Container) -> None:
    """After a stop, with the container down: no link, and an empty socket folder (the folder
    stays: it is the stopped container's mount)."""
    unlink(record)
    try:
        folder = _open_folder(record.socket_dir)
    except (FileNotFoundError, NotADirectoryError):
        return
    try:
        for name in os.listdir(folder):
            _remove(name, folder)
    finally:
        os.close(folder)


def discard(record: Container) -> None:
    """With the container gone: no link, no folders."""
    unlink(record)
    discard_folders(record.name)


def discard_folders(name: str) -> None:
    """shutil.rmtree works through descriptors and never follows a symlink out of the tree."""
    run = settings.DATA_ROOT / "run"
    try:
        tmpfs.unmount(run / "servers" / name)
    except tmpfs.MountError as exc:
        log.error("%s: its files are removed, its tmpfs stays mounted: %s", name, exc)
    # run/containers/<name>: an older version's socket folders, on the host's disk.
    for folder in (run / "servers" / name, run / "containers" / name, run / "config" / name):
        shutil.rmtree(folder, ignore_errors=True)


def leftover(record: Container, gone: bool) -> bool:
    """A link, or anything in the socket folder: what a stopped container should not have; and
    its folders too, for a container that is gone."""
    legacy = settings.DATA_ROOT / "run" / "containers" / record.name
    if gone and any(p.exists() for p in (record.server_dir, legacy, record.config_dir)):
        return True  # root's paths up to these folders: exists() follows nothing of the student's
    named = [(record.link.parent, record.link.name), (record.link.parent, _temp_name(record)),
             (record.server_dir, SOCKET_NAME), (record.server_dir, _temp_name(record))]
    if any(os.path.lexists(folder / name) for folder, name in named):
        return True
    try:
        folder = _open_folder(record.socket_dir)
    except (FileNotFoundError, NotADirectoryError):
        return False
    try:
        return bool(os.listdir(folder))
    finally:
        os.close(folder)


def is_socket(path: Path) -> bool:
    try:
        return stat.S_ISSOCK(os.lstat(path).st_mode)
    except FileNotFoundError:
        return False


def secret_of_link(name: str) -> str:
    """The secret a name in the links folder belongs to: `<secret>.sock` or a link being made."""
    return name.lstrip(".").split(".")[0]


def sweep(records: list[Container], infos: Mapping[str, ContainerInfo],
          status: Callable[[str], ContainerInfo | None]) -> None:
    """The monitor's cleaning pass: links and socket folders of containers that are down, and the
    files of containers that nobody knows. `infos` was listed after `records` were read."""
    for record in records:
        info = infos.get(record.name)
        if (info is None or not info.state.up) and leftover(record, gone=info is None):
            clean(record, status)
    _sweep_unknown_folders({r.name for r in records}, infos)
    _sweep_links({r.secret for r in records})


def clean(record: Container, status: Callable[[str], ContainerInfo | None]) -> None:
    """Under the lease and after asking the engine again (a start may be making this very socket):
    the link goes, and the socket folder is emptied, or removed with its container."""
    try:
        with lease(record, wait=0):
            info = status(record.name)
            if info is None:
                discard(record)
            elif not info.state.up:
                close(record)
            else:
                return
            log.info("removed leftover socket of %s", record.name)
    except LeaseTimeout:
        pass


def _sweep_unknown_folders(known: set[str], infos: Mapping[str, ContainerInfo]) -> None:
    # A first open creates its row before its folders and link: rows made since the snapshot
    # are read again, so that a start under way keeps what it just made.
    run = settings.DATA_ROOT / "run"
    unknown = sorted({f.name for f in [*_entries(run / "servers"), *_entries(run / "containers"),
                                       *_entries(run / "config")]
                      if f.name not in known and f.name not in infos})
    known_now = set(Container.objects.filter(name__in=unknown).values_list("name", flat=True))
    for name in unknown:
        if name not in known_now:
            discard_folders(name)
            log.info("removed leftover socket folder %s", name)


def _sweep_links(known: set[str]) -> None:
    """Links whose secret nobody has, and anything in the links folder that is neither a link of
    ours nor the hard link of a server started by an older version."""
    folder = settings.DATA_ROOT / "run" / "links"
    links = {link: secret_of_link(link.name) for link in _entries(folder)}
    unknown = [secret for secret in links.values() if secret not in known]
    known = known | set(Container.objects.filter(secret__in=unknown).values_list("secret", flat=True))
    for link, secret in links.items():
        if secret not in known or not (is_socket(link) or _is_ours(link)):
            link.unlink(missing_ok=True)  # root's folder: only the platform makes entries there
            log.info("removed leftover link %s", link.name)


def _is_ours(link: Path) -> bool:
    """A symbolic link to the hard link in a server's folder; an older version's symlinks into the
    students' socket folders are not (the next open links the socket again)."""
    try:
        target = Path(os.readlink(link))
    except OSError:
        return False
    return target.name == SOCKET_NAME and target.parent.parent == settings.DATA_ROOT / "run" / "servers"


def _entries(folder: Path) -> list[Path]:
    try:
        return sorted(folder.iterdir())
    except OSError:
        return []


def _temp_name(record: Container) -> str:
    return f".{record.secret}.new"


def _open_folder(path: Path) -> int:
    return os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)


def _lstat(name: str, folder: int) -> os.stat_result | None:
    try:
        return os.lstat(name, dir_fd=folder)
    except FileNotFoundError:
        return None


def _same(a: os.stat_result, b: os.stat_result | None) -> bool:
    return b is not None and (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def _remove(name: str, folder: int) -> None:
    """Removes the entry itself, whatever it is; never what a symlink points to."""
    try:
        os.unlink(name, dir_fd=folder)
    except FileNotFoundError:
        pass
    except IsADirectoryError:
        shutil.rmtree(name, dir_fd=folder, ignore_errors=True)
