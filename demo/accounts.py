"""Demo areas and staff for 安徽省宣城市泾县 (seed_demo). Idempotent."""

from __future__ import annotations

from pathlib import Path

from django.db import transaction

from accounts.models import Role, User
from accounts.services import areas_load_csv, staff_add

DEMO_AREAS_CSV = Path(__file__).parent / "fixtures" / "demo_areas.csv"
# Published in the README on purpose: the demo logins of `make run` (seed_demo only).
DEMO_PASSWORD = "Shouwang@2026"  # nosec B105
COUNTY_CODE = "341823000000"

# (username, role, area code, name, phone)
DEMO_STAFF: list[tuple[str, str, str | None, str, str]] = [
    ("zr_chengdong", Role.DIRECTOR, "341823100001", "汪丽华", "13905631201"),
    ("zr_shuixi", Role.DIRECTOR, "341823100201", "胡建国", "13905631202"),
    ("zr_guba", Role.DIRECTOR, "341823100202", "吴秀兰", "13905631203"),
    ("zr_maolin", Role.DIRECTOR, "341823101201", "吴志强", "13905631204"),
    ("zr_tongshan", Role.DIRECTOR, "341823101202", "何春梅", "13905631205"),
    ("zr_pancun", Role.DIRECTOR, "341823101203", "潘小燕", "13905631206"),
    ("zr_huangtian", Role.DIRECTOR, "341823102201", "朱红英", "13905631207"),
    ("zr_yongxi", Role.DIRECTOR, "341823102202", "王德明", "13905631208"),
    ("zr_wuxi", Role.DIRECTOR, "341823102203", "张桂芳", "13905631209"),
    ("zr_chaji", Role.DIRECTOR, "341823103201", "查文静", "13905631210"),
    ("zr_houan", Role.DIRECTOR, "341823103202", "王玉兰", "13905631211"),
    ("zr_wancun", Role.DIRECTOR, "341823103203", "万晓东", "13905631212"),
    ("zr_zhaicun", Role.DIRECTOR, "341823103204", "翟雪梅", "13905631213"),
    ("zr_zhangdu", Role.DIRECTOR, "341823105201", "章立新", "13905631214"),
    ("zr_yunling", Role.DIRECTOR, "341823105202", "陈海燕", "13905631215"),
    ("zr_zhongcun", Role.DIRECTOR, "341823105203", "刘晓红", "13905631216"),
    ("dd_jingchuan", Role.SUPERVISOR, "341823100000", "汪海涛", "13905632101"),
    ("dd_maolin", Role.SUPERVISOR, "341823101000", "吴静", "13905632102"),
    ("dd_langqiao", Role.SUPERVISOR, "341823102000", "朱明", "13905632103"),
    ("dd_taohuatan", Role.SUPERVISOR, "341823103000", "查丽萍", "13905632104"),
    ("dd_yunling", Role.SUPERVISOR, "341823105000", "叶建军", "13905632105"),
    ("mz_jingxian", Role.CIVIL_AFFAIRS, COUNTY_CODE, "方晓梅", "05635021001"),
    ("ck_xuancheng", Role.VIEWER, "341800000000", "孙立", "05633021002"),
    # The province's civil affairs set the provincial benefit standards (money: never the
    # system administrator, who has no case data).
    ("mz_anhui", Role.CIVIL_AFFAIRS, "340000000000", "省民政厅 储建国", "05512823001"),
    (
        "bg_taohuatan_school",
        Role.REPORTER,
        "341823103000",
        "桃花潭镇中心小学 李老师",
        "13905633101",
    ),
    # The network's outside doors (domain §10): the county's 12355 line, the township's police
    # station, and a social-work organisation that children are referred to.
    ("rx_jingxian", Role.HOTLINE, COUNTY_CODE, "12355青少年服务台 程晓", "05635025355"),
    ("jc_taohuatan", Role.POLICE, "341823103000", "桃花潭派出所 汪建", "05635031110"),
    ("jg_yangguang", Role.PARTNER, COUNTY_CODE, "阳光社工 孙婷", "13905634101"),
    ("admin", Role.ADMIN, None, "系统管理员", ""),
    # 等保 三权分立: security administration and audit apart from system administration.
    ("aq_province", Role.SECURITY, "340000000000", "安全管理员 周敏", "05512821001"),
    ("sj_province", Role.AUDITOR, "340000000000", "安全审计员 钱进", "05512821002"),
]
# Published in the README on purpose: every demo user whose role needs a second factor gets a
# TOTP device with this secret, so `make run` can be tried at once. Add it to an authenticator
# app as base32 ONUG 65LX MFXG OLLE MVWW 6LLU N52H ALJR, or print the current code with
# `manage.py totp_code USERNAME`. Never used outside seed_demo (refused in production).
DEMO_TOTP_KEY = b"shouwang-demo-totp-1".hex()  # nosec B105
# The organisation each demo partner works for (accounts.models.Organisation).
DEMO_ORGANISATIONS = {"jg_yangguang": "泾县阳光社会工作服务中心"}


def seed(stdout=None) -> None:
    result = areas_load_csv(path=DEMO_AREAS_CSV)
    if result.errors:
        raise RuntimeError("; ".join(result.errors))
    existing = set(
        User.objects.filter(username__in=[s[0] for s in DEMO_STAFF]).values_list(
            "username", flat=True
        )
    )
    with transaction.atomic():
        for username, role, area_code, name, phone in DEMO_STAFF:
            if username in existing:
                continue
            staff_add(
                username=username,
                role=role,
                area_code=area_code,
                password=DEMO_PASSWORD,
                name=name,
                phone=phone,
                # The daily digest goes by e-mail to whoever has an address (the console in
                # development): .example is reserved, never delivered.
                email=f"{username}@demo.example",
                organisation=DEMO_ORGANISATIONS.get(username, ""),
            )
    _give_demo_devices()
    if stdout is not None:
        stdout.write(
            f"演示区划 {result.created + result.updated} 个，演示账号 {len(DEMO_STAFF)} 个"
            f"（新建 {len(DEMO_STAFF) - len(existing)} 个）/ demo areas and staff ready\n"
        )
        stdout.write("守望 Shouwang: http://127.0.0.1:8000/\n")
        stdout.write(f"演示账号 / demo logins (password {DEMO_PASSWORD}):\n")
        for username, role, area_code, name, _phone in DEMO_STAFF:
            stdout.write(f"  {username:<22} {role:<14} {area_code or '-':<13} {name}\n")
        stdout.write(
            "两步验证 / two-factor: supervisor, civil_affairs, admin, security, auditor — "
            "`manage.py totp_code USERNAME` 显示当前验证码 / prints the current code\n"
        )


def _give_demo_devices() -> None:
    """A confirmed TOTP device with the published demo secret for each demo user who must give a
    second factor and has none yet (a device the user set up themselves is left alone)."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from accounts.mfa import mfa_required_for

    users = User.objects.filter(username__in=[s[0] for s in DEMO_STAFF], totpdevice__isnull=True)
    TOTPDevice.objects.bulk_create(
        [
            TOTPDevice(user=user, name="demo", key=DEMO_TOTP_KEY, confirmed=True)
            for user in users
            if mfa_required_for(user)
        ]
    )
