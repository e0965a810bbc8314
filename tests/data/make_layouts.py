"""Write the layout test files into layouts/ beside this script: speech files as they really arrive.

Deterministic (fixed text, PDFs written with reportlab's invariant mode, docx core
properties pinned), so running it again gives the same files. The expectations live
in tests/test_layouts.py. Run: .venv/bin/python tests/data/make_layouts.py
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent / "layouts"

# ---------------------------------------------------------------- bodies

CITY_BODY = [
    "今天召开全市安全生产工作会议，主要任务是深入贯彻落实全省安全生产电视电话会议精神，分析当前安全生产形势，安排部署二季度重点工作。",
    "一、清醒认识当前安全生产面临的严峻形势",
    "一季度，全市共发生生产安全事故12起、死亡9人，同比分别下降14.3%和10%，但道路交通、建筑施工领域事故仍然多发，个别企业主体责任落实不到位，隐患排查流于形式。",
    "二、突出抓好重点行业领域专项整治",
    "要聚焦危险化学品、矿山、消防、道路交通、建筑施工等重点行业领域，深入开展安全生产治本攻坚三年行动，对排查出的重大事故隐患实行清单化管理、闭环式整改，做到隐患不清零不收兵。",
    "三、层层压实安全生产责任",
    "各县区、各部门要严格落实“党政同责、一岗双责、齐抓共管、失职追责”，主要负责同志要亲自研究部署，真正把责任落实到岗位、落实到人头。",
]
FLOOD_BODY = [
    "当前，我县已全面进入主汛期，据气象部门预测，今年汛期降雨总体偏多，发生区域性暴雨洪涝灾害的可能性较大，防汛形势十分严峻。",
    "一要立足防大汛、抗大险、救大灾，修订完善各类防汛应急预案，落实山洪灾害危险区群众转移避险措施，确保转移路线、安置场所、责任人员“三落实”。",
    "二要加强值班值守，严格执行24小时领导带班和关键岗位值班制度，做到“1分钟响应、3分钟到场”，一旦发生险情，第一时间处置、第一时间报告。",
    "三要强化物资储备，全县储备编织袋5万条、救生衣2000件、冲锋舟12艘，各乡镇要逐一检查物资数量和状态，确保关键时刻拿得出、用得上。",
]
MONTH_BODY = [
    "今天，我们在这里隆重举行全县“安全生产月”活动启动仪式，主题是“人人讲安全、个个会应急——畅通生命通道”。",
    "开展安全生产月活动，是普及安全知识、提升全民安全素质的重要载体。各乡镇、各部门要精心组织安全宣传咨询日、应急演练周、隐患随手拍等活动，推动安全知识进企业、进农村、进社区、进学校、进家庭。",
    "要坚持问题导向，把安全生产月活动与重大事故隐患专项排查整治结合起来，以活动促整改，以整改保安全，切实把活动成效转化为事故下降的实际成果。",
]
DISTRICT_BODY = [
    "刚才，区应急管理局通报了全区汛前检查情况，各街道作了表态发言，我完全同意。下面，我再强调三点意见。",
    "第一，要把思想认识统一到防汛工作的决策部署上来。防汛工作事关人民群众生命财产安全，决不能有丝毫松懈和麻痹大意，必须坚持人民至上、生命至上。",
    "第二，要把各项措施落实到防汛工作的每一个环节。对全区23处易涝点、8座小型水库、15处地质灾害隐患点，要逐一明确责任人，落实巡查监测和应急处置措施。",
    "第三，要把应急准备做在灾害发生之前。区防汛抗旱指挥部要加强统筹调度，抢险救援队伍要保持临战状态，确保一旦有险情能够拉得出、冲得上、打得赢。",
]
CHEM_BODY = [
    "危险化学品安全风险大、事故后果严重，是安全生产的重中之重。全市现有危险化学品生产经营企业186家，其中重大危险源企业27家，安全风险不容忽视。",
    "要全面开展危险化学品重大危险源企业安全专项检查，对检查中发现的问题，能立即整改的立即整改，不能立即整改的要制定方案、限期整改，整改不到位的坚决停产停业整顿。",
    "要加快推进化工园区安全整治提升，完善园区封闭化管理和安全风险智能化管控平台，严格落实危险化学品运输车辆“一车一档”管理要求。",
]
GAS_BODY = [
    "城镇燃气安全事关千家万户，近年来全国多地发生燃气爆炸事故，教训十分深刻。今天召开这次会议，就是要对全市城镇燃气安全排查整治工作再动员、再部署。",
    "要对全市所有燃气经营企业、餐饮等公共场所、老旧小区燃气管网进行全覆盖排查，重点整治瓶装液化石油气违规充装、管道燃气设施老化、用户私接乱改等突出问题。",
    "各相关部门要各司其职、密切配合，住建部门牵头抓总，市场监管、应急管理、消防救援等部门要依法履职，形成齐抓共管的工作格局。",
]
FLOOD_SEASON_BODY = [
    "今年入汛以来，全市平均降雨量较常年同期偏多三成，部分河流出现超警戒水位，汛期安全生产工作面临严峻考验。",
    "各地要对矿山、尾矿库、在建工地、危险化学品企业开展汛期专项检查。截至目前，全市共排查企业412家，发现隐患1036项，已整改986项，整改率95.2%。",
    "汛期是各类事故的易发多发期，要严格落实极端天气停工停产撤人制度，遇有暴雨、雷电等恶劣天气，露天作业和高处作业一律停止。",
]
ROAD_BODY = [
    "道路交通安全是安全生产的重要组成部分。去年以来，全县道路交通事故起数、死亡人数实现“双下降”，但农村道路交通安全基础薄弱的问题依然突出。",
    "一、加强重点车辆和驾驶人管理",
    "要深入开展“两客一危一货”重点车辆专项整治，严格落实运输企业安全主体责任，对存在安全隐患的车辆一律停运整改。",
    "二、加强农村道路安全治理",
    "要完善农村公路安全防护设施，在急弯陡坡、临水临崖路段设置警示标志和防护栏，持续开展农村“两站两员”建设，劝导农民群众安全出行。",
]
FIRE_BODY = [
    "冬春季节天干物燥，用火用电用气增多，是火灾事故高发期。今年以来，全市共接报火灾312起，同比上升6.8%，其中居民住宅火灾占比超过六成。",
    "要聚焦高层建筑、大型商业综合体、人员密集场所、老旧小区等重点场所，全面排查整治消防通道堵塞、电动自行车违规停放充电等突出问题。",
    "要加强消防安全宣传教育，推动消防安全知识进社区、进企业、进家庭，提高群众自防自救能力。",
]
MINE_BODY = [
    "今天召开全市矿山安全生产工作会议，主要任务是传达学习全国矿山安全生产工作会议精神，部署全市矿山安全生产工作。",
    "矿山安全生产是安全生产工作的重中之重。要严格落实矿山企业主要负责人安全生产第一责任人责任，严厉打击超层越界开采、假整改假密闭等违法违规行为。",
    "要加快推进矿山智能化建设和机械化换人、自动化减人，从根本上降低矿山作业人员安全风险。",
]
BUILD_BODY = [
    "建筑施工安全涉及面广、风险点多，是事故防范的重点领域。今年以来，全区建筑施工领域发生事故3起，暴露出部分企业安全管理松懈、现场管理混乱的问题。",
    "要深入开展建筑施工安全专项整治，重点检查深基坑、高支模、起重机械、脚手架等危险性较大的分部分项工程，对违规违章行为要依法严厉查处。",
    "要严格落实施工企业安全生产主体责任，项目负责人要带班作业，安全员要全程在岗，确保施工现场安全管理不留死角。",
]
SUPERVISION_BODY = [
    "今年是矿山安全监管体制改革后的关键一年，全市矿山安全监管工作既要守住底线，又要提升水平，任务艰巨繁重。",
    "要健全完善矿山安全监管执法体系，推行“互联网+监管”执法模式，对重点矿山实行驻矿监管，做到检查不漏企、执法不留情。",
    "要强化监管队伍能力建设，分期分批组织监管人员开展业务培训，确保每名执法人员熟练掌握矿山安全法律法规和执法程序。",
]
YEAR_END_BODY = [
    "岁末年初，人员流动和生产经营活动增多，各类安全风险交织叠加。今天把大家召集起来，专门研究部署岁末年初安全防范工作。",
    "各地各部门要立即组织开展一次安全生产大检查，重点检查交通运输、人员密集场所、烟花爆竹等领域，对发现的隐患要建立台账、限期整改。",
    "要严格落实节日期间值班值守制度，保持通信畅通，遇有突发情况要迅速响应、妥善处置，确保人民群众度过一个安定祥和的节日。",
]
QUOTE_BODY = [
    "今天召开全区安全生产工作会议，传达学习全省安全生产电视电话会议精神。会上，省长作了题为",
    "在全省安全生产电视电话会议上的讲话",
    "的重要讲话，深刻分析了当前安全生产面临的形势，对下一步工作提出了明确要求，我们要认真抓好贯彻落实。",
    "要紧盯重点行业领域，深入开展重大事故隐患专项排查整治，严格落实企业安全生产主体责任，推动安全生产形势持续稳定向好。",
    "要强化应急值守和信息报送，严格执行领导干部带班和24小时值班制度，确保各类突发事件第一时间发现、第一时间处置。",
]


def _write_text(name: str, lines: list[str], encoding: str = "utf-8", bom: bytes = b"") -> None:
    (HERE / name).write_bytes(bom + ("\n".join(lines) + "\n").encode(encoding))


def _to_half_width(text: str) -> str:
    return text.translate(str.maketrans("，：；（）！？", ",:;()!?"))


def _docx(name: str, build) -> None:  # type: ignore[no-untyped-def]
    import docx

    document = docx.Document()
    props = document.core_properties
    props.author, props.last_modified_by = "layouts", "layouts"
    props.created = props.modified = dt.datetime(2024, 1, 1)
    props.revision = 1
    build(document)
    buffer = io.BytesIO()
    document.save(buffer)
    # Zip entries carry the time of writing: pin it, so the same text gives the same bytes.
    with zipfile.ZipFile(buffer) as source, zipfile.ZipFile(HERE / name, "w", zipfile.ZIP_DEFLATED) as out:
        for item in source.infolist():
            pinned = zipfile.ZipInfo(item.filename, date_time=(2024, 1, 1, 0, 0, 0))
            pinned.compress_type = zipfile.ZIP_DEFLATED
            out.writestr(pinned, source.read(item.filename))


_FONT = "STSong-Light"


def _pdf(name: str, pages: list[list[tuple[str, int, str, int]]], header: str = "", footers: bool = False):  # type: ignore[no-untyped-def]
    """Pages of (text, size, align, indent-in-chars) lines; optional running header and page numbers."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont(_FONT))
    width, height = A4
    pdf = canvas.Canvas(str(HERE / name), pagesize=A4, invariant=1)
    left, lead = 72, 20
    for number, lines in enumerate(pages, start=1):
        if header:
            pdf.setFont(_FONT, 9)
            pdf.drawCentredString(width / 2, height - 40, header)
        y = height - 80
        for text, size, align, indent in lines:
            pdf.setFont(_FONT, size)
            if align == "center":
                pdf.drawCentredString(width / 2, y, text)
            elif align == "right":
                pdf.drawRightString(width - left, y, text)
            else:
                pdf.drawString(left + indent * 12, y, text)
            y -= lead + (size - 12)
        if footers:
            pdf.setFont(_FONT, 10)
            pdf.drawCentredString(width / 2, 40, f"— {number} —")
        pdf.showPage()
    pdf.save()


def _wrap(paragraph: str, width: int = 34) -> list[tuple[str, int, str, int]]:
    """A paragraph as body lines: a two-character first-line indent, hard wraps every `width` characters."""
    first = width - 2
    lines = [paragraph[:first]] + [paragraph[i : i + width] for i in range(first, len(paragraph), width)]
    return [(line, 12, "left", 2 if n == 0 else 0) for n, line in enumerate(lines)]


def main() -> None:
    # 1. title / date line / salutation: the most common official layout (UTF-8 txt)
    _write_text(
        "01_title_date_salutation.txt",
        ["在全市安全生产工作会议上的讲话", "", "（2024年4月23日）", "", "同志们：", "", *CITY_BODY],
    )
    # 2. GBK txt, date in Chinese numerals, 各位领导、同志们
    _write_text(
        "02_gbk_chinese_numeral_date.txt",
        ["在全县防汛工作会议上的讲话", "二〇二四年五月十日", "各位领导、同志们：", *FLOOD_BODY],
        encoding="gbk",
    )
    # 3. UTF-16 txt: main title, ——subtitle, speaker line, date line
    _write_text(
        "03_utf16_subtitle_speaker.txt",
        [
            "坚持人民至上 筑牢安全防线",
            "——在全县“安全生产月”活动启动仪式上的讲话",
            "县长  王建国",
            "（2024年6月1日）",
            "同志们：",
            *MONTH_BODY,
        ],
        encoding="utf-16-le",
        bom=b"\xff\xfe",
    )
    # 4. speaker named in the title; date and place on one line (half-width brackets and comma)
    _write_text(
        "04_speaker_in_title_place.txt",
        ["李明同志在全区防汛工作会议上的讲话", "(2024年5月20日,在青山区)", "同志们:", *DISTRICT_BODY],
    )
    # 5. date on the title line
    _write_text(
        "05_date_on_title_line.txt",
        ["在全市危险化学品安全工作会议上的讲话（2024年3月15日）", "同志们：", *CHEM_BODY],
    )
    # 6. no title at all: the file name stands in
    _write_text("06_城镇燃气安全排查整治部署会讲话稿_定稿.txt", ["同志们：", *GAS_BODY])

    # 7. docx: Heading 1 title without a genre word, speaker+date line, a table
    def heading_and_table(document) -> None:  # type: ignore[no-untyped-def]
        document.add_heading("扎实做好汛期安全生产工作", level=1)
        document.add_paragraph("副市长 赵敏（2024年7月2日）")
        document.add_paragraph("同志们：")
        for paragraph in FLOOD_SEASON_BODY[:2]:
            document.add_paragraph(paragraph)
        table = document.add_table(rows=3, cols=3)
        for r, row in enumerate(
            [("行业领域", "排查隐患", "已整改"), ("矿山", "236", "230"), ("危险化学品", "318", "301")]
        ):
            for c, value in enumerate(row):
                table.cell(r, c).text = value
        document.add_paragraph(FLOOD_SEASON_BODY[2])

    _docx("07_docx_heading_table.docx", heading_and_table)

    # 8. pdf: two pages, running header, page numbers, a paragraph and a number across the break,
    #    the date under the closing signature
    road = ROAD_BODY
    # The first line ends inside the number 412, as a word processor wraps it.
    number_head = "全县今年以来组织交通公安应急等部门集中排查农村公路隐患路段共计4"
    assert len(number_head) == 32, len(number_head)
    wrapped_number = number_head + "12处，已完成整治386处，剩余路段要在汛期前全部完成整治，确保群众出行安全。"
    page_1 = [("在全县道路交通安全工作会议上的讲话", 16, "center", 0), ("同志们：", 12, "left", 0)]
    for paragraph in road[:3]:
        page_1 += _wrap(paragraph)
    cross = _wrap(road[4])
    number_lines = _wrap(wrapped_number)
    page_1 += [(road[3], 12, "left", 2), *cross[:2]]
    page_2 = [*cross[2:], *number_lines, ("县人民政府", 12, "right", 0), ("2024年9月6日", 12, "right", 0)]
    _pdf("08_pdf_running_header_footer.pdf", [page_1, page_2], header="××县人民政府办公室文件", footers=True)

    # 9. pdf: larger-type title, centred date line
    lines = [("在全市消防安全工作会议上的讲话", 20, "center", 0), ("（2024年11月9日）", 12, "center", 0)]
    lines.append(("同志们：", 12, "left", 0))
    for paragraph in FIRE_BODY:
        lines += _wrap(paragraph)
    _pdf("09_pdf_large_title.pdf", [lines])

    # 10. government site html
    body = "".join(f"<p>{p}</p>" for p in MINE_BODY)
    (HERE / "10_government_site.html").write_text(
        f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8">
<title>在全市矿山安全生产工作会议上的讲话_××市人民政府门户网站</title></head>
<body>
<div class="top-bar"><a href="/">无障碍浏览</a> <a href="/en">English</a> <a href="/login">登录</a></div>
<div class="header"><div class="logo"><img src="logo.png" alt="××市人民政府"></div>
<div class="search"><form><input name="q"><button>搜索</button></form></div></div>
<div class="nav"><ul><li><a href="/">首页</a></li><li><a href="/zwgk">政务公开</a></li>
<li><a href="/zwfw">政务服务</a></li><li><a href="/hdjl">互动交流</a></li></ul></div>
<div class="breadcrumb">当前位置：<a href="/">首页</a> &gt; <a href="/zwgk">政务公开</a>
&gt; <a href="/ldjh">领导讲话</a></div>
<div class="main"><div class="article">
<h1>在全市矿山安全生产工作会议上的讲话</h1>
<div class="article-info">发布时间：2024-10-18 09:30 来源：市应急管理局
字号：<a>大</a> <a>中</a> <a>小</a></div>
<div class="article-content">
<p style="text-align:center">（2024年10月16日）</p>
<p>同志们：</p>
{body}
</div>
<div class="share">分享到：<a href="#">微信</a> <a href="#">微博</a> <a href="#">QQ空间</a></div>
<div class="print"><a href="javascript:print()">打印本页</a> <a href="javascript:close()">关闭窗口</a></div>
</div>
<div class="related"><h3>相关文章</h3><ul><li><a href="/a1">全市安全生产工作会议召开</a></li>
<li><a href="/a2">市领导督导检查矿山安全生产工作</a></li>
<li><a href="/a3">全市消防安全工作会议召开</a></li></ul></div>
</div>
<div class="footer"><p>主办：××市人民政府办公室 承办：××市大数据中心</p>
<p>网站标识码：1234000000 ICP备案号：×ICP备12345678号</p><p>版权所有 ©××市人民政府</p></div>
</body></html>
""",
        encoding="utf-8",
    )
    # 11. markdown with # headings, no date
    _write_text(
        "11_markdown_headings.md",
        [
            "# 在全区建筑施工安全生产工作会议上的讲话",
            "",
            "同志们：",
            "",
            BUILD_BODY[0],
            "",
            "## 一、开展专项整治",
            "",
            BUILD_BODY[1],
            "",
            "## 二、压实企业责任",
            "",
            BUILD_BODY[2],
        ],
    )
    # 12. two speeches one after the other, the second sharing the first file's title
    _write_text(
        "12_two_speeches.txt",
        [
            "在全市矿山安全监管工作会议上的讲话",
            "（2024年2月26日）",
            "同志们：",
            *SUPERVISION_BODY,
            "",
            "在全市安全生产工作会议上的讲话",
            "（2024年12月30日）",
            "同志们：",
            *YEAR_END_BODY,
        ],
    )
    # 13. a speech quoting another meeting's title on a line of its own
    _write_text(
        "13_quoted_title_in_body.txt",
        ["在全区安全生产工作会议上的讲话", "（2024年1月8日）", "同志们：", *QUOTE_BODY],
    )

    # 14. the speech of file 01 again: docx, another title line, half-width punctuation
    def same_as_01(document) -> None:  # type: ignore[no-untyped-def]
        document.add_paragraph("市长在全市安全生产工作会议上的讲话")
        document.add_paragraph("(2024年4月23日)")
        document.add_paragraph("同志们:")
        for paragraph in CITY_BODY:
            document.add_paragraph(_to_half_width(paragraph))

    _docx("14_same_speech_as_01.docx", same_as_01)


if __name__ == "__main__":
    main()
