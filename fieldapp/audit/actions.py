"""What the log page and its export call each action (``AuditEvent.action``).

A feature that records a new action adds its name here; an action missing here is
shown as it is recorded."""

from __future__ import annotations

from flask_babel import gettext

from fieldapp.i18n import N_

ACTION_LABELS = {
    "login": N_("登录成功"),
    "login_failed": N_("登录失败"),
    "logout": N_("退出登录"),
    "login_locked": N_("登录失败过多，暂时锁定"),
    "login_unlock": N_("解除登录锁定"),
    "totp_enable": N_("开启两步验证"),
    "totp_disable": N_("关闭两步验证"),
    "totp_reset": N_("重置两步验证"),
    "totp_failed": N_("两步验证码错误"),
    "totp_recovery_used": N_("使用恢复码登录"),
    "view_table": N_("查看数据表"),
    "view_submission": N_("查看提交详情"),
    "download_attachment": N_("下载附件"),
    "view_dashboard": N_("查看图表分析"),
    "api_submissions": N_("通过 API 读取提交"),
    "export": N_("导出数据"),
    "download_export": N_("下载导出文件"),
    "audit_export": N_("导出审计日志"),
    "backup_create": N_("备份服务器数据"),
    "backup_restore": N_("从备份恢复服务器数据"),
    "edit_submission": N_("修改提交"),
    "open_correction": N_("取回已发送的提交以修改"),
    "user_create": N_("创建用户"),
    "user_update": N_("修改用户"),
    "user_deactivate": N_("停用用户"),
    "user_reactivate": N_("恢复用户"),
    "users_import": N_("批量导入用户"),
    "password_reset": N_("重置密码"),
    "password_change": N_("修改本人密码"),
    "create_collect_token": N_("创建 Collect 令牌"),
    "revoke_collect_token": N_("撤销 Collect 令牌"),
    "case_assign": N_("分配家庭"),
    "case_close": N_("家庭结案"),
    "case_reopen": N_("重新打开家庭"),
    "case_resolve": N_("处理家庭冲突"),
    "view_household": N_("查看家庭档案"),
    "api_households": N_("通过 API 读取家庭"),
    "download_entity_list": N_("手机下载家庭列表"),
    "area_create": N_("新增区划"),
    "area_rename": N_("区划改名"),
    "area_move": N_("移动区划"),
    "area_deactivate": N_("停用区划"),
    "area_reactivate": N_("恢复区划"),
    "area_delete": N_("删除区划"),
    "areas_import": N_("导入区划"),
    "form_publish": N_("发布问卷"),
    "form_state": N_("更改问卷状态"),
    "form_move": N_("更改问卷发布区划"),
    "form_media_add": N_("添加问卷媒体文件"),
    "figure_definition_create": N_("新增年度数据指标"),
    "figure_definition_update": N_("修改年度数据指标"),
    "figure_definitions_load": N_("载入默认年度数据指标"),
    "figure_targets_update": N_("设定年度目标"),
    "figures_export": N_("导出年度数据"),
    "report_define": N_("新建定期报告"),
    "report_update": N_("修改定期报告"),
    "report_export": N_("导出报告完整率"),
}


def action_label(action: str) -> str:
    """The action's name in the UI language, or ``action`` itself when it has none."""
    label = ACTION_LABELS.get(action)
    return gettext(label) if label else action
