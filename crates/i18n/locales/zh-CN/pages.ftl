language-name = 中文

## lib.rs
something-went-wrong = 出错了
back-to-the-home-page = 返回首页
error = 出错了
file-a-request = 我要反映
track = 查询进度
staff-login = 工作人员登录
workbench = 工作台
cases = 诉求列表
file-for-a-resident = 录入诉求
statistics = 统计
hot-topics = 热点问题
administration = 系统管理
log-out = 退出
suqiu-requests = 诉求办理
small-matters-stay-in-the-village = 小事不出村（社区），大事不出镇（街），矛盾不上交
security-check-failed-submit-forms-from = 安全校验未通过：请从本站页面提交表单（页面可能已过期，请刷新后重试）。
the-form-is-too-large-photos = 提交的内容过大（照片合计不能超过 20 MB）。
the-form-could-not-be-read = 提交的表单格式不正确，请刷新页面后重试。

## forms.rs
please-choose-the-village-community-or = 请选择所在的村（社区）或网格
this-cannot-be-done-in-the = 这件诉求当前的状态不能进行此操作（可能已有人处理，请刷新页面查看）
your-unit-or-role-may-not = 您的单位或岗位不能进行此操作
a-case-cannot-be-merged-into = 不能合并到这件诉求本身，请选择另一件诉求作为主件
someone-updated-this-case-meanwhile-check = 这件诉求刚被他人更新，请查看最新情况后再提交
case-not-found-or-not-visible = 没有找到这件诉求（或您无权查看）
the-tracking-code-or-the-last = 查询码或手机号后四位不对，请核对后再试
staff-may-not-rate-or-change = 工作人员不能以群众身份评价或更改告知方式；回访评价请在诉求页面记录
too-many-submissions-please-try-later = 提交太频繁，请稍后再试，或拨打 12345 热线
the-proxy-channel-is-for-grid = 代办渠道仅限网格员使用，请选择其他渠道
the-accusation-names-the-whole-district = 控告对象包括本区县，但未配置受理的上级纪检监察机关，请联系系统管理员
choose-the-accused-unit-from-the = 请从列表中选择被反映的单位
photos-must-be-jpeg-png-or = 照片须为 JPEG、PNG 或 WebP 格式的图片
a-photo-file-is-damaged-or = 照片文件已损坏或不完整，请重新拍摄或选择其他照片
wrong-login-or-password = 账号或密码错误
too-many-failed-attempts-try-again = 密码错误次数过多，请 15 分钟后再试
the-system-could-not-process-this = 系统暂时无法处理，内容尚未保存，请稍后重试
between-1-and-365-working-days = 天数须在 1 到 365 个工作日之间
choose-a-category-from-the-list = 请从列表中选择类别
an-accusation-is-never-sent-to = 检举控告不能派给被反映的单位
the-lead-unit-cannot-also-cooperate = 牵头单位不能同时是协办单位
choose-a-district-department = 请选择区直职能部门
choose-a-unit-from-the-list = 请从列表中选择单位
too-long = 内容太长了
please-fill-this-in = 请填写此项
this-value-is-not-accepted = 填写的内容不符合要求

## words.rs
ordinary-3-working-days = 一般（3 个工作日）
difficult-15-working-days = 疑难（15 个工作日）
especially-difficult-leader-sets-the-deadline = 特别疑难（领导定时限）
district = 区县
township-street = 乡镇（街道）
village-community = 村（社区）
grid = 网格
hamlet = 屋场
department = 职能部门
oversight-organ = 纪检监察机关
triage-the-same-day = 当日研判
resolve-or-report-the-same-day = 当日办理或上报
explain-the-policy-in-person = 上门解释政策
sign-the-same-day = 当日签收
accept-and-contact-the-same-day = 当日接单并联系群众
finish = 办结
re-dispatch = 重新派单
handle-again = 重新办理
supervised-deadline = 督办时限
leaders-deadline = 领导确定的时限
street-handling = 街道办理
by-the-resident = 群众自评
phone-callback = 电话回访
home-visit = 上门回访
leaders-revisit = 领导回访
resident = 群众
system = 系统
same-resident = 同一群众重复反映
same-place-same-problem = 同一地点同一问题
similar-text = 内容相似
received = 受理
note-added = 添加备注
photo-attached = 添加照片
triaged = 研判分流
reported-to-the-street = 上报街道
signed-for = 街道签收
assigned-by-the-street = 街道交办
dispatched = 派单
accepted = 部门接单
returned = 退单
cooperation-reported = 协办反馈
leaders-deadline-requested = 申请领导定时限
leaders-deadline-set = 领导定时限
replied = 答复
explained = 解释说明
rated = 评价
rating-read = 已阅评价
reopened = 重新办理
closed = 办结
owned-by-a-leader = 领导包案
supervised = 督办
interview-recorded = 约谈
deadline-set = 开始计时
deadline-cleared = 结束计时
due-soon = 即将到期提醒
deadline-counted-again = 时限重新计算
overdue = 超期
urgent-signal = 紧急情况报告
merged = 合并为重复件
duplicate-merged = 并入重复件
related-case-linked = 关联相关件
contact-changed = 更改通知方式
forwarded-to-oversight = 转送纪检监察机关
working-days = 工作日
calendar-days = 自然日
the-same-working-day-or-the = 当个工作日（遇休息日顺延）

## forms.rs (with variables)
case-is-closed-and-cannot-take = 诉求 #{ $id } 已办结，不能再并入重复件；请选择仍在办理中的诉求
case-was-itself-merged-into-another = 诉求 #{ $id } 本身已作为重复件合并到其他诉求，请合并到它的主件
case-not-found-or-outside-your = 没有找到诉求 #{ $id }，或它不在您的管辖范围内
each-photo-may-be-at-most = 每张照片不能超过 { $max } MB
at-most-photos = 最多附 { $max } 张照片
the-photos-may-take-at-most = 照片合计不能超过 { $max } MB
the-login-is-taken = 账号「{ $l }」已存在
a-cannot-belong-to-a-unit = 「{ $role }」不能属于{ $level }级单位
the-unit-code-is-taken = 单位编码「{ $c }」已被使用
there-is-no-parent-unit-choose = 没有编码为「{ $c }」的上级单位，请从列表中选择
a-cannot-sit-under-a-district = { $level }不能设在{ $parent }之下（区县下设乡镇街道和职能部门，乡镇街道下设村社区，村社区下设网格，网格下设屋场）
there-is-no-user = 没有账号「{ $l }」

## words.rs (with variables)
the-resident-changed-how-they-are = 群众更改了接收通知的方式：{ $channel }
received-to-for-triage = 受理（{ $channel }），交{ $unit_name }研判
note = 备注：{ $text }
photo-attached-2 = 附照片 { $photo }
triaged-2 = 研判：{ $zh }，{ $category }
reported-to = 上报{ $unit_name } { $n }
signed-for-by = { $unit_name }签收
handled-by-the-street-responsible = 街道自办，责任人：{ $responsible }
dispatched-lead = 派单：牵头单位{ $unit_name }{ $cooperating }，{ $difficulty }
accepted-by-contact = { $unit_name }接单，联系群众：{ $contact_note }
returned-by = { $unit_name }退单，理由：{ $reason }
cooperation-report-from = { $unit_name }协办反馈：{ $text }
asked-the-leader-for-a-deadline = { $unit_name }申请领导确定时限：{ $reason }
leader-set-the-deadline = { $leader }确定了办理时限
reply-from = { $unit_name }答复：{ $result }{ $basis }
visited-on-to-explain = { $visited_by }于{ $when }上门解释政策：{ $policy_basis } { $n }
rated-2 = 评价：{ $zh }（{ $via }）{ $c }
read-the-rating = { $unit_name }已阅群众评价
reopened-to = 重新办理，交{ $unit_name }：{ $reason }
closed-2 = 办结 { $x }
took-ownership = { $leader }包案
supervised-by = { $leader }督办：{ $note }
interviewed-of = { $leader }约谈{ $unit_name }负责人{ $head }：{ $note }
deadline-counted-again-with-the-holiday = 时限「{ $rule }」按节假日安排重新计算：{ $due }（原为{ $was }）{ $provisional ->
        [yes] ，仍为暂定
       *[no] {""}
    }
deadline-ended = 时限「{ $rule }」已结束
deadline-is-due-soon = 时限「{ $rule }」即将到期
deadline-overdue = 时限「{ $rule }」已超期{ $leader ->
        [none] {""}
       *[other] ，提请{ $leader }督办
    }
danger-signals-told = 紧急信号：{ $signals }，已通知{ $leader ->
        [none] 研判单位
       *[other] { $leader }
    }
related-to-case-similarity = 关联诉求 #{ $case_id }（{ $why }，相似度 { $score }）
merged-as-a-duplicate-into-another = 作为重复件合并至另一诉求：{ $reason }
merged-as-a-duplicate-into-case = 作为重复件合并至诉求 #{ $into }：{ $reason }
duplicate-merged-into-this-case = 重复件 #{ $case_id } 已合并至本件：{ $reason }
accusation-forwarded-to = 检举控告已转送{ $name }办理：{ $reason }

## html.rs (with variables)
by-the-end-of = { $d } 24:00 前

## forms.rs (by hand)
cannot-remove-sub-units = 不能删除：该单位下还有下级单位
cannot-remove-staff = 不能删除：该单位还有工作人员或挂点领导
cannot-remove-cases = 不能删除：已有诉求件经过该单位（可改名）
cannot-remove-routing = 不能删除：分派记录中已有该单位（可改名）
field-missing = 请填写此项
field-too-long = 太长了，最多 { $max } 个字
field-invalid-phone = 电话号码不正确：请填写 11 位手机号，或带区号的固定电话
field-invalid-id-number = 身份证号码不正确：应为 18 位，请核对最后一位
field-control-characters = 含有无法显示的字符，请重新输入
field-weak-password = 密码至少 10 位，须包含大写字母、小写字母、数字、符号中的三类
field-invalid-value = 请从列表中选择，或填写正确的值
field-unknown = 不认识的字段
field-invalid-email = 电子邮箱地址不正确，例如 zhangsan@example.cn
dispatched-cooperating = ，协办单位{ $units }
list-separator = 、
reply-policy-basis = （政策依据：{ $basis }）
deadline-set-for = 时限：{ $rule }，{ $unit }须在{ $due }完成{ $provisional ->
        [yes] （暂定：节假日数据未覆盖）
       *[no] {""}
    }{ $after_hours ->
        [yes] （非工作时间受理，按下一工作日计）
       *[no] {""}
    }
contact-sms = 短信
contact-email = 电子邮件
contact-none = 不接收通知
topics-none = 近 { $days } 天没有集中反映的问题（同一地点同一问题有 2 件以上才算热点）。
topics-case-count = { $n } 件：
topics-last-days = 近 { $days } 天
topics-heading = 近 { $days } 天的热点问题
topics-link-days = 近 { $days } 天
